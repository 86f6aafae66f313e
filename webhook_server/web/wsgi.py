"""gunicorn's target: ``gunicorn -c gunicorn.conf.py webhook_server.web.wsgi:app``."""

from webhook_server.web.app import create_app

app = create_app()
