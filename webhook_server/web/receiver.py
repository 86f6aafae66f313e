"""What the request path needs at hand, kept on the Flask app so tests can build apps side by side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from webhook_server.endpoints import Endpoint
from webhook_server.inbox import Inbox
from webhook_server.settings import Settings
from webhook_server.spool.drainer import Drainer
from webhook_server.spool.store import Spool

if TYPE_CHECKING:  # the ingest core reads a Receiver without importing Flask
    from flask import Flask

EXTENSION_KEY = "webhook_server"


@dataclass(frozen=True)
class Receiver:
    """The settings, the inbox, the configured endpoints (by route name) and the spool (if any) of one app."""

    settings: Settings
    inbox: Inbox
    endpoints: dict[str, Endpoint]
    # With WEBHOOK_SPOOL_DIR: where events go when the inbox cannot commit, and its drainer.
    spool: Spool | None = None
    drainer: Drainer | None = None


def receiver_of(app: Flask) -> Receiver:
    receiver: Receiver = app.extensions[EXTENSION_KEY]
    return receiver
