"""What the request path needs at hand, kept on the Flask app so tests can build apps side by side."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from webhook_server.inbox import Inbox
from webhook_server.providers import Endpoint
from webhook_server.settings import Settings

EXTENSION_KEY = "webhook_server"


@dataclass(frozen=True)
class Receiver:
    """The settings, the inbox and the configured endpoints of one app, by route name."""

    settings: Settings
    inbox: Inbox
    providers: dict[str, Endpoint]


def receiver_of(app: Flask) -> Receiver:
    return app.extensions[EXTENSION_KEY]
