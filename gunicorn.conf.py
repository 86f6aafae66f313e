"""gunicorn's configuration for a checkout: everything lives in ``webhook_server.web.config``.

    gunicorn -c gunicorn.conf.py webhook_server.web.wsgi:app

(or ``webhook-server serve``, which loads that module by name and so works from any directory).
"""

from webhook_server.web.config import *  # noqa: F403
