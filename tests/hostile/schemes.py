"""Each sender's signature scheme, written again here from its documentation with hmac.

The suite signs with these, never with the server's own code, so a mistake in a provider
module cannot hide by being made twice. Every scheme answers the same few questions; the
corpus and the generated cases are built from them alone, whatever the provider.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

# Placed in every bad body: the server's log must never contain it.
MARKER = "HOSTILE-BODY-MARKER-5c1e"
# Outside every scheme's tolerance (300 s) by a margin no clock skew on this machine reaches.
STALE_SECONDS = 3600

Headers = list[tuple[str, str]]


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


class Scheme(Protocol):
    name: str  # the route's and the metrics' provider name
    secret: str  # configured on the server
    env: dict[str, str]  # the environment that configures it
    signature_headers: tuple[str, ...]  # what a forger tampers with
    timestamped: bool
    id_field: str | None  # where the event id is: a field of the body ...
    id_header: str | None  # ... or a header

    def document(self, event_id: str) -> dict[str, Any]:
        """A realistic event, as the sender's JSON."""
        ...

    def sign(self, body: bytes, event_id: str, *, secret: str | None = None, timestamp: int | None = None) -> Headers:
        """Every header the sender sends with ``body``, signed with ``secret`` (default: the right one)."""
        ...


@dataclass
class StripeScheme:
    """``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``; id and type in the body."""

    name: str = "stripe"
    secret: str = "whsec_hostile_5a6b7c8d9e0f"
    signature_headers: tuple[str, ...] = ("Stripe-Signature",)
    timestamped: bool = True
    id_field: str | None = "id"
    id_header: str | None = None
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.env = {"STRIPE_WEBHOOK_SECRET": self.secret}

    def document(self, event_id: str) -> dict[str, Any]:
        return {
            "id": event_id,
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {"object": {"id": new_id("pi"), "object": "payment_intent", "amount": 2000, "currency": "usd"}},
        }

    def sign(self, body: bytes, event_id: str, *, secret: str | None = None, timestamp: int | None = None) -> Headers:
        signed_at = int(time.time()) if timestamp is None else timestamp
        digest = hmac.new((secret or self.secret).encode(), b"%d." % signed_at + body, hashlib.sha256).hexdigest()
        return [("Content-Type", "application/json; charset=utf-8"), ("Stripe-Signature", f"t={signed_at},v1={digest}")]


SCHEMES: list[Scheme] = [StripeScheme()]


def encode(document: Any) -> bytes:
    return json.dumps(document).encode()


def valid_delivery(scheme: Scheme) -> tuple[str, bytes, Headers]:
    """A fresh event that must be stored: its id, body and headers."""
    event_id = new_id("evt_ok")
    body = encode(scheme.document(event_id))
    return event_id, body, scheme.sign(body, event_id)


def bad_document(scheme: Scheme) -> tuple[str, dict[str, Any]]:
    """A realistic event carrying the marker, under an id no valid delivery uses."""
    event_id = new_id("evt_bad")
    document = scheme.document(event_id)
    document["marker"] = MARKER
    return event_id, document
