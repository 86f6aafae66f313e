"""webhook-server: a webhook receiver that commits every verified event before its 200."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from webhook_server import providers
from webhook_server.inbox import Inbox
from webhook_server.settings import Settings


@dataclass(frozen=True)
class Receiver:
    """What the routes need, kept on ``app.extensions`` so tests can build apps side by side."""

    settings: Settings
    inbox: Inbox
    providers: dict[str, providers.Provider]


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app; settings come from the environment unless given."""
    from webhook_server import errors_http, health, metrics, webhooks

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    # Werkzeug answers 413 from Content-Length before reading, and cuts chunked bodies at this
    # limit without an error: one byte over ours tells a body at the limit from a longer one.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes + 1
    app.extensions["webhook_server"] = Receiver(
        settings=settings,
        inbox=Inbox(settings.database_url, timeout=settings.db_timeout),
        providers=providers.configured(settings),
    )
    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp)
    errors_http.init_app(app)
    metrics.init_app(app)
    return app


def receiver_of(app: Flask) -> Receiver:
    return app.extensions["webhook_server"]
