"""What a delivery sends, built from its stored event, and what its history keeps of an answer.

The body is the event's ``body`` column: the bytes the sender signed, unchanged. The
``webhook-id`` is derived from the event alone (its sender and id), so it is the same on every
attempt, every replay and every forwarder: the destination dedupes on it. Header values are
made safe for HTTP here: an event id or type (or a stored header) holding a character a header
cannot carry is percent-encoded rather than failing every attempt.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from urllib.parse import quote

from webhook_server.destinations_file import DestinationSpec
from webhook_server.forwarder.http_sender import RESPONSE_KEEP_BYTES, Message
from webhook_server.safe_text import storable

# An event id used as it is in webhook-id; any other is hashed (ids are the sender's, any text).
_PLAIN_ID = re.compile(r"[A-Za-z0-9._~-]{1,200}")
_HEADER_SAFE = re.compile(r"[\x20-\x7e]{0,1000}")
ENDPOINT_HEADER = "webhook-server-endpoint"
TYPE_HEADER = "webhook-server-event-type"
EVENT_ID_HEADER = "webhook-server-event-id"


def webhook_id(provider: str, event_id: str) -> str:
    """``<sender>_<event id>``, or ``<sender>_sha256_<hex>`` for an id that is not plain ASCII."""
    sender = provider if _PLAIN_ID.fullmatch(provider) else "s" + hashlib.sha256(provider.encode()).hexdigest()[:16]
    if _PLAIN_ID.fullmatch(event_id):
        return f"{sender}_{event_id}"
    digest = hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{sender}_sha256_{digest}"


def header_value(value: str) -> str:
    """``value`` as it is when a header can carry it, else percent-encoded (UTF-8)."""
    if _HEADER_SAFE.fullmatch(value) and value == value.strip():
        return value
    return quote(value.encode("utf-8", "surrogatepass")[:2000], safe="")


def message_for(
    spec: DestinationSpec,
    provider: str,
    event_id: str,
    event_type: str,
    endpoint: str,
    body: bytes,
    stored_headers: Mapping[str, object] | None,
) -> Message:
    """The body as signed by the sender, its stable id, and the headers the destination asked for."""
    headers = {
        ENDPOINT_HEADER: header_value(endpoint),
        TYPE_HEADER: header_value(event_type),
        EVENT_ID_HEADER: header_value(event_id),
    }
    stored = stored_headers or {}
    for name in spec.pass_headers:
        value = stored.get(name)
        if isinstance(value, str):
            headers[name] = header_value(value)
    return Message(webhook_id(provider, event_id), body, headers)


def response_text(response: bytes) -> str | None:
    """The start of an answer as the history's text column can hold it; None when it was empty."""
    if not response:
        return None
    return storable(response.decode("utf-8", "backslashreplace"), RESPONSE_KEEP_BYTES * 4)
