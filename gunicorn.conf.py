"""gunicorn's configuration for a checkout: everything lives in ``webhook_server.serving.config``.

    gunicorn -c gunicorn.conf.py webhook_server.wsgi:app

(or ``webhook-server serve``, which loads that module by name and so works from any directory).
"""

from webhook_server.serving.config import *  # noqa: F403
