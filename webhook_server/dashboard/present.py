"""How pages write times, ages and errors: the operator commands' own formats, as template filters."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from webhook_server.operator import output


def init_app(app: Flask) -> None:
    app.add_template_filter(output.utc, "utc")
    app.add_template_filter(output.age, "age")
    app.add_template_filter(output.short_error, "short_error")
    app.add_template_filter(took, "took")


def took(started: datetime, finished: datetime) -> str:
    """How long an attempt ran, to the millisecond under a minute."""
    seconds = (finished - started).total_seconds()
    return f"{seconds:.3f} s" if seconds < 60 else output.age(finished - started)
