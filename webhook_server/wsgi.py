"""gunicorn's target: ``gunicorn -c gunicorn.conf.py webhook_server.wsgi:app``."""

from webhook_server.app import create_app

app = create_app()
