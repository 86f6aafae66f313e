"""What the request path needs at hand, kept on the Flask app so tests can build apps side by side."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from webhook_server.inbox import Inbox
from webhook_server.providers import Endpoint
from webhook_server.settings import Settings
from webhook_server.spool.drainer import Drainer
from webhook_server.spool.store import Spool

EXTENSION_KEY = "webhook_server"
# Where the app keeps its webhooks.DirectIngest, for the worker's main loop (serving/main_loop.py).
DIRECT_INGEST_KEY = "webhook_server.direct_ingest"


@dataclass(frozen=True)
class Receiver:
    """The settings, the inbox, the configured endpoints (by route name) and the spool (if any) of one app."""

    settings: Settings
    inbox: Inbox
    providers: dict[str, Endpoint]
    # With WEBHOOK_SPOOL_DIR: where events go when the inbox cannot commit, and its drainer.
    spool: Spool | None = None
    drainer: Drainer | None = None


def receiver_of(app: Flask) -> Receiver:
    return app.extensions[EXTENSION_KEY]
