"""How the operator commands print: plain aligned tables for people, JSON for scripts, UTC times.

Both reach a terminal, and what they print includes text from senders (payloads, headers) and
from handlers' errors that quote them: a control character in it is shown escaped, never sent
for the terminal to obey (an escape sequence can clear the screen or set the window's title).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from webhook_server.safe_text import printable

# How much of last_error a table row shows; `events show` prints all of it.
ERROR_COLUMN_WIDTH = 60
# What json.dumps leaves as it is with ensure_ascii off, yet a terminal obeys: DEL and the C1 controls.
_JSON_RAW_CONTROLS = re.compile(r"[\x7f-\x9f]")


def table(headers: Sequence[str] | None, rows: Sequence[Sequence[Any]]) -> str:
    """Plain columns padded to their widest cell; numbers right-aligned; control characters escaped."""
    cells = [[printable(str(v)) for v in row] for row in ([headers] if headers else []) + list(rows)]
    numeric = [all(isinstance(row[i], int) for row in rows) for i in range(len(cells[0]))] if rows else []
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = []
    for row in cells:
        padded = [
            cell.rjust(width) if is_number else cell.ljust(width)
            for cell, width, is_number in zip(row, widths, numeric, strict=True)
        ]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)


def echo_json(document: Any) -> None:
    """One indented JSON document on stdout; times as ISO 8601, durations as seconds."""
    click.echo(pretty_json(document))


def pretty_json(document: Any) -> str:
    """Indented JSON for reading; non-ASCII as is, unless a lone surrogate (valid in a JSON
    escape, not encodable as UTF-8) forces escapes. Control characters are always escaped."""
    text = json.dumps(document, indent=2, default=_json_default, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(document, indent=2, default=_json_default)
    return _JSON_RAW_CONTROLS.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def utc(value: datetime | None) -> str:
    """A moment to the second in UTC, as the logs and `--since` speak; ``-`` for none."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def age(value: timedelta) -> str:
    """``4m 12s``, ``3h 4m``, ``2d 3h``: the two largest units are enough for a backlog."""
    minutes, seconds = divmod(int(value.total_seconds()), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m {seconds}s"


def short_error(error: str | None) -> str:
    """The first line of an error, cut to fit a table column."""
    lines = (error or "").strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= ERROR_COLUMN_WIDTH else line[: ERROR_COLUMN_WIDTH - 1] + "…"
