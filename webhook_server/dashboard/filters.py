"""The event filters of the list and the bulk replay, read from a query string or a form.

The same names everywhere (``status``, ``provider``, ``type``, ``since``, ``until``,
``event_id``), so a link, a filter form and a replay form carry them alike. Times take what
``--since`` takes on the command line: a duration back from now (``3d``) or ISO 8601 (UTC unless
it says otherwise). A bad value is a 400 that names the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from flask import abort

from webhook_server.durations import parse_since
from webhook_server.operator.queries import STATUSES, EventFilter

FIELDS = ("status", "provider", "type", "since", "until", "event_id")


def from_args(args: Mapping[str, str]) -> EventFilter:
    """An EventFilter from the request's values; empty fields match everything."""
    values = {name: args.get(name, "").strip() or None for name in FIELDS}
    if values["status"] is not None and values["status"] not in STATUSES:
        abort(400, f"status must be one of {', '.join(STATUSES)}")
    return EventFilter(
        status=values["status"],
        provider=values["provider"],
        event_type=values["type"],
        since=_moment("since", values["since"]),
        until=_moment("until", values["until"]),
        event_id=values["event_id"],
    )


def as_args(args: Mapping[str, str]) -> dict[str, str]:
    """The filter fields given in ``args``, as they were typed, for links and hidden inputs."""
    return {name: args[name].strip() for name in FIELDS if args.get(name, "").strip()}


def page_start(raw: str | None) -> int | None:
    """``before=<row id>``: the last row of the previous page."""
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        abort(400, "before must be a row id, as the Older link writes it")
    return int(raw)


def _moment(name: str, raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        return parse_since(raw)
    except ValueError as exc:
        abort(400, f"{name}: {exc}")
