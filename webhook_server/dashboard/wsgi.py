"""gunicorn's target for the dashboard: ``webhook_server.dashboard.wsgi:app``."""

from webhook_server.dashboard.app import create_app

app = create_app()
