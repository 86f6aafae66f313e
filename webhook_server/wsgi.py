"""Deprecated name of gunicorn's target, webhook_server.web.wsgi:app, for one release (CHANGELOG.md)."""

from webhook_server.web.wsgi import app

__all__ = ["app"]
