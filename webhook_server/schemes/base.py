"""What every scheme module gives the request path: verify raw bytes, name the event."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

# Event ids and types longer than this are not from a real sender; refuse rather than store.
MAX_IDENTIFIER_LENGTH = 255


@dataclass(frozen=True)
class VerifiedEvent:
    """An event whose signature checked out: its id for deduplication, its type, and the body's
    text as verified. It is stored in a jsonb column, which keeps the JSON's value but not its
    text: whitespace, key order and duplicate keys are not kept."""

    event_id: str
    event_type: str
    payload: str
    # The jsonb text when the body is not one JSON object (a form, a JSON array: schemes/bodies.py).
    document: str | None = None
    # The 200's JSON when the sender needs more than {"received": true} (Discord's deferral).
    reply: Mapping[str, object] | None = None


@dataclass(frozen=True)
class Handshake:
    """A verified request that is not an event: answered with ``reply`` as JSON, nothing stored
    (Slack's ``url_verification`` challenge, sent when the endpoint's URL is saved); a string is
    answered as plain text (Twitch's challenge), None as an empty 204 (Discord's webhook PING)."""

    reply: Mapping[str, object] | str | None


@dataclass(frozen=True)
class RequestUrl:
    """The URL a delivery was posted to, as its sender wrote it, for the schemes that sign it
    (Twilio): ``scheme`` as gunicorn reads it (``X-Forwarded-Proto`` from a trusted proxy), the
    ``Host`` header, and the request target as sent, its query string included."""

    scheme: str
    host: str
    target: str

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}{self.target}"


# Why a delivery is refused: stable codes, the same for every scheme, in the 400's body as
# "error" and in webhook_rejections_total{reason}. Senders' tooling and alerts match on them, so
# one is added here, with its meaning, and never renamed (docs/reference/http.md lists them).
Reason = Literal[
    "signature_missing",
    "signature_malformed",
    "signature_invalid",
    "signature_expired",
    "header_missing",
    "header_malformed",
    "body_incomplete",
    "body_malformed",
    "body_not_utf8",
    "body_not_json",
    "body_not_form",
    "url_unknown",
    "event_malformed",
    "event_mismatch",
]
REASONS: dict[Reason, str] = {
    "signature_missing": "no signature header (or a scheme's timestamp header): is the request from this sender?",
    "signature_malformed": "the signature header is not in the scheme's format",
    "signature_invalid": "no configured secret gives this signature of these bytes",
    "signature_expired": "the signed timestamp is more than 5 minutes away from this server's clock",
    "header_missing": "a header that carries the event's id, type or timestamp is missing",
    "header_malformed": "such a header is repeated, too long or holds control characters",
    "body_incomplete": "the connection ended before the declared body did, or the client was too slow",
    "body_malformed": "broken chunked framing",
    "body_not_utf8": "the body is not UTF-8",
    "body_not_json": "the body is not one JSON object (NaN and Infinity are not JSON)",
    "body_not_form": "a scheme whose sender posts a form (Twilio) got a body that is not URL-encoded",
    "url_unknown": "a scheme that signs the URL (Twilio, Square, HubSpot) could not know the URL the request came to",
    "event_malformed": "no usable event id or type (missing, not a string, too long, control characters)",
    "event_mismatch": "a generic endpoint's sources of the id or type disagree",
}


class Rejected(Exception):
    """The request is refused with a 400; ``reason`` is a stable code, the message says why."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Verifier(Protocol):
    """A sender's signature scheme. ``verify`` reads the body exactly as received and returns
    the event to store, or the handshake to answer; anything else raises Rejected. ``url`` is
    given by the request path; the schemes that do not sign it ignore it."""

    name: str

    def verify(
        self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None
    ) -> VerifiedEvent | Handshake: ...


def decode_utf8(body: bytes) -> str:
    """The body as text; senders sign UTF-8 JSON, so anything else is not theirs."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected("body_not_utf8", f"the body is not valid UTF-8 (byte {exc.start})") from None


def json_body(body: bytes) -> tuple[str, dict[str, Any]]:
    """The verified body's text (what is stored) and the JSON object it must be."""
    text = decode_utf8(body)
    return text, parse_json_object(text)


def parse_json_object(text: str) -> dict[str, Any]:
    """Parse the body once to read the event's identity; the stored payload is the original text.

    Strict JSON: Python's parser also takes ``NaN`` and ``Infinity``, which no JSON sender writes.
    """
    document = parse_json(text)
    if not isinstance(document, dict):
        raise Rejected("body_not_json", "the body must be a JSON object")
    return document


def parse_json(text: str) -> Any:
    """Any strict JSON value (SendGrid posts an array)."""
    try:
        return json.loads(text, parse_constant=_not_json, parse_int=_integer)
    except (ValueError, RecursionError) as exc:
        raise Rejected("body_not_json", f"the body is not valid JSON: {exc}") from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _integer(digits: str) -> int:
    """A JSON integer; one too long for Python's int() (over 4,300 digits) is refused with a reason
    a sender understands, not Python's advice to raise the interpreter's limit."""
    try:
        return int(digits)
    except ValueError:
        raise ValueError(f"a number has {len(digits.lstrip('-'))} digits, more than any sender writes") from None


def required_identifier(document: Mapping[str, Any], field: str) -> str:
    """A non-empty string field of the event, of a sane length."""
    value = document.get(field)
    if not isinstance(value, str) or not value:
        raise Rejected("event_malformed", f"the event has no {field!r} string")
    return identifier(value, f"the event's {field!r}", "event_malformed")


def identifier(value: str, what: str, reason: Reason) -> str:
    """An event id or type as stored: bounded, and printable (Postgres text refuses NUL)."""
    if len(value) > MAX_IDENTIFIER_LENGTH:
        raise Rejected(reason, f"{what} is longer than {MAX_IDENTIFIER_LENGTH} characters")
    if not value.isprintable():
        raise Rejected(reason, f"{what} contains control characters")
    return value


def body_digest(body: bytes) -> str:
    """An event id for senders that give none: identical redeliveries are then duplicates."""
    return f"sha256:{hashlib.sha256(body).hexdigest()}"
