"""An ``IncomingEvent`` as spool rows and back, field by field, without naming any field.

A field added to the dataclass is spooled with no change here, as long as its value is text,
a number, a bool, None, bytes, or tuples and dicts of those: bytes become BLOBs of their own
(``spooled_bytes``), everything else one JSON object. JSON has no tuples, so lists come back
as tuples, the type a frozen dataclass holds. A field added later needs a default: rows spooled
by an older release lack it (without one, ``from_rows`` raises TypeError and the drainer keeps
such rows, logging why, until a release that can read them). A field renamed since is read
under its new name (``RENAMED``), so an upgrade drains what the release before it spooled.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from typing import Any

from webhook_server.inbox import IncomingEvent

# Fields spooled under an earlier name, by that name: 0.1.0 calls the scheme ``scheme``.
RENAMED = {"provider": "scheme"}


def to_rows(event: IncomingEvent) -> tuple[str, dict[str, bytes]]:
    """The event's JSON fields and its bytes fields by name."""
    fields: dict[str, Any] = {}
    blobs: dict[str, bytes] = {}
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        if isinstance(value, bytes | bytearray | memoryview):
            blobs[field.name] = bytes(value)
        else:
            fields[field.name] = value
    return json.dumps(fields, separators=(",", ":")), blobs


def from_rows(fields: str, blobs: Iterable[tuple[str, bytes]]) -> IncomingEvent:
    """The event ``to_rows`` was given; raises TypeError if the dataclass gained a field with no default."""
    values = {RENAMED.get(name, name): _tuples(value) for name, value in json.loads(fields).items()}
    values.update(blobs)
    return IncomingEvent(**values)


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    if isinstance(value, dict):
        return {key: _tuples(item) for key, item in value.items()}
    return value
