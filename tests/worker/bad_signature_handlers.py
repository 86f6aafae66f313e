"""A handler module that must stop the worker at start: its handler takes two arguments."""

from __future__ import annotations

from webhook_server.handlers import Event, handles


@handles("test", "broken")
def broken(event: Event, extra: object) -> None:
    pass
