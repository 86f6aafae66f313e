"""The event filters of the list and the bulk replay, read from a query string or a form.

The same names everywhere (``status``, ``scheme``, ``endpoint``, ``type``, ``since``, ``until``,
``event_id``), so a link, a filter form and a replay form carry them alike. Times take what
``--since`` takes on the command line: a duration back from now (``3d``) or ISO 8601 (UTC unless
it says otherwise). A bad value is a 400 that names the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlencode

from flask import abort, url_for

from webhook_server.durations import parse_since
from webhook_server.operator.queries import STATUSES, EventFilter
from webhook_server.safe_text import holdable

FIELDS = ("status", "scheme", "endpoint", "type", "since", "until", "event_id")
# Fields read under an earlier name too, so that links saved before 0.1.0 keep their filter.
OLD_NAMES = {"scheme": "provider"}


def _typed(args: Mapping[str, str], name: str) -> str:
    return (args.get(name) or args.get(OLD_NAMES.get(name, ""), "")).strip()


def from_args(args: Mapping[str, str]) -> EventFilter:
    """An EventFilter from the request's values; empty fields match everything."""
    values = {name: _typed(args, name) or None for name in FIELDS}
    for name, value in values.items():
        if value is not None and not holdable(value):
            abort(400, f"{name} matches no event: it holds a NUL or bytes that are not UTF-8")
    if values["status"] is not None and values["status"] not in STATUSES:
        abort(400, f"status must be one of {', '.join(STATUSES)}")
    return EventFilter(
        status=values["status"],
        scheme=values["scheme"],
        endpoint=values["endpoint"],
        event_type=values["type"],
        since=_moment("since", values["since"]),
        until=_moment("until", values["until"]),
        event_id=values["event_id"],
    )


def as_args(args: Mapping[str, str]) -> dict[str, str]:
    """The filter fields given in ``args``, as they were typed, for links and hidden inputs."""
    return {name: _typed(args, name) for name in FIELDS if _typed(args, name)}


def filtered_url(view: str, fields: Mapping[str, object]) -> str:
    """A link to ``view`` carrying filter fields in its query string. Not ``url_for(view, **fields)``:
    url_for's own first parameter is named ``endpoint``, like one of the fields."""
    query = urlencode({name: value for name, value in fields.items() if value not in (None, "")})
    return url_for(view) + (f"?{query}" if query else "")


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
