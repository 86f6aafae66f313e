"""The app factory: the request path's routes, error handlers and metrics on one Flask app."""

from __future__ import annotations

from flask import Flask

from webhook_server import endpoints
from webhook_server.inbox import Inbox
from webhook_server.settings import Settings
from webhook_server.spool.drainer import Drainer
from webhook_server.spool.store import Spool
from webhook_server.web import errors, health, metrics, scrape, webhooks
from webhook_server.web.receiver import EXTENSION_KEY, Receiver


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app; settings come from the environment unless given."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    # Werkzeug answers 413 from Content-Length before reading, and cuts chunked bodies at this
    # limit without an error: one byte over ours tells a body at the limit from a longer one.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes + 1
    spool, drainer = None, None
    if settings.spool_dir is not None:
        spool = Spool(settings.spool_dir, max_bytes=settings.spool_max_bytes)
        drainer = Drainer(
            spool, settings.database_url, timeout=settings.db_timeout, on_drained=metrics.SPOOL_DRAINED.inc
        )
    app.extensions[EXTENSION_KEY] = Receiver(
        settings=settings,
        inbox=Inbox(
            settings.database_url,
            timeout=settings.db_timeout,
            failure_threshold=settings.db_circuit_failures,
            probe_interval=settings.db_probe_interval,
            on_circuit_change=metrics.database_circuit_changed,
        ),
        endpoints=endpoints.configured(settings),
        spool=spool,
        drainer=drainer,
    )
    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp)
    errors.init_app(app)
    scrape.init_app(app)
    return app
