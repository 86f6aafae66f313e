"""The dashboard's app factory: sign-in, pages, a database pool, and headers that keep pages to themselves."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from webhook_server.dashboard import auth, database, pages, present
from webhook_server.dashboard.sessions import SessionKey
from webhook_server.dashboard.settings import DashboardSettings

# Nothing from another origin, no inline script or style: a payload that slipped past escaping
# could still not run. The chart is inline SVG, which needs no source of its own.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def create_app(settings: DashboardSettings | None = None) -> Flask:
    """Build the dashboard's WSGI app; settings come from the environment unless given."""
    settings = settings or DashboardSettings.from_env()
    app = Flask(__name__)
    app.config.update(
        SESSION_COOKIE_NAME="webhook_dashboard",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.tls,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=auth.SESSION_HOURS),
    )
    database.init_app(app, settings.database_url, settings.db_timeout)
    auth.init_app(app, settings.password, SessionKey(settings.state_dir, settings.password))
    present.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_error_handler(HTTPException, _http_error)
    app.after_request(_headers)
    return app


def _http_error(error: HTTPException) -> ResponseReturnValue:
    return render_template(
        "error.html", title=f"{error.code} {error.name}", problem=error.description
    ), error.code or 500


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint != "static":  # pages hold event data: no copy left in a cache
        response.headers["Cache-Control"] = "no-store"
    return response
