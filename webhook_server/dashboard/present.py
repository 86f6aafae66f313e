"""How pages write times, ages and errors: the operator commands' own formats, as template filters."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

from webhook_server.dashboard.filters import filtered_url
from webhook_server.operator import output
from webhook_server.operator.queries import EventDetail


def init_app(app: Flask) -> None:
    app.add_template_filter(output.utc, "utc")
    app.add_template_filter(output.age, "age")
    app.add_template_filter(output.short_error, "short_error")
    app.add_template_filter(took, "took")
    app.add_template_test(running, "running")
    app.add_template_global(filtered_url, "filtered_url")


def took(started: datetime, finished: datetime) -> str:
    """How long an attempt ran, to the millisecond under a minute."""
    seconds = (finished - started).total_seconds()
    return f"{seconds:.3f} s" if seconds < 60 else output.age(finished - started)


def running(event: EventDetail) -> bool:
    """A worker holds a live lease on the event: its status still reads pending (or failed), which
    alone said it was waiting, as right after a replay when a worker had already taken it."""
    return event.locked_until is not None and event.locked_until > datetime.now(UTC)
