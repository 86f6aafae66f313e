"""Bodies that are not one JSON object, as the JSON object stored and given to handlers.

Most senders post a JSON object: stored as signed (``body``) and as jsonb (``payload``), and
handlers get it parsed from ``body``. Two kinds of sender post something else:

- a form (``application/x-www-form-urlencoded``, Twilio's): the object of its fields,
  ``{"From": "+15005550006", …}``, a name sent more than once mapping to the list of its values;
- a JSON array (SendGrid's batch of events): ``{"events": [...]}``.

``as_object`` is the one reading of a stored body, the worker's for every event; the verifiers
of those senders store ``stored_document`` as the jsonb, made by the same function, so the
``payload`` column and what a handler gets cannot differ. Only those verifiers store a body
that is not a JSON object, which is what lets ``as_object`` try JSON first.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from webhook_server.schemes.base import Rejected, identifier

# Far more fields than any sender's form (Twilio's have about 20): a bound on the parse's work.
MAX_FORM_FIELDS = 1000


def form_pairs(text: str) -> list[tuple[str, str]]:
    """The form's fields in order, percent-decoded as UTF-8; anything else is refused."""
    try:
        return parse_qsl(
            text, keep_blank_values=True, strict_parsing=bool(text), errors="strict", max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError as exc:  # UnicodeDecodeError is one
        raise Rejected("body_not_form", f"the body is not a URL-encoded form ({exc})") from None


def form_object(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Each name once: its value, or the list of its values if it came more than once."""
    document: dict[str, Any] = {}
    for name, value in pairs:
        if name not in document:
            document[name] = value
        elif isinstance(document[name], list):
            document[name].append(value)
        else:
            document[name] = [document[name], value]
    return document


def as_object(body: bytes) -> dict[str, Any]:
    """The stored body as handlers get it: a JSON object as it is, a JSON array as
    ``{"events": [...]}``, anything else (a form, verified as one before it was stored) as its fields."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if isinstance(document, dict):
        return document
    if isinstance(document, list):
        return {"events": document}
    return form_object(form_pairs(body.decode("utf-8")))


def stored_document(body: bytes) -> str:
    """The jsonb text of a body that is not a JSON object: ``as_object``'s, as JSON. ASCII, so a
    lone surrogate or a NUL stays an escape, which Postgres refuses as jsonb (the event is then
    stored with its body only, as a JSON body with one is) rather than text it cannot encode."""
    return json.dumps(as_object(body))


def shared_value(events: list[dict[str, Any]], field: str) -> str:
    """The type of a batch of events (SendGrid's, HubSpot's): the ``field`` they all have the same
    non-empty string in (``delivered``, ``contact.creation``), else ``batch``."""
    values = {event.get(field) for event in events}
    value = values.pop() if len(values) == 1 else None
    if isinstance(value, str) and value:
        return identifier(value, f"the events' {field!r}", "event_malformed")
    return "batch"
