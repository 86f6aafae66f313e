"""Each sender's signature scheme, signed with tests/signers.py (the one way tests sign), never
with the server's code, so a mistake in a scheme module cannot hide by being made twice.
Every scheme answers the same few questions; the corpus and the generated cases are built from
them alone, whatever the scheme.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from tests import signers

# Placed in every bad body: the server's log must never contain it.
MARKER = "HOSTILE-BODY-MARKER-5c1e"
# Outside every scheme's tolerance (300 s) by a margin no clock skew on this machine reaches.
STALE_SECONDS = 3600

Headers = list[tuple[str, str]]


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


class Scheme(Protocol):
    name: str  # the route's and the metrics' scheme name
    secret: str  # configured on the server
    env: dict[str, str]  # the environment that configures it
    endpoint: str  # its table in WEBHOOK_ENDPOINTS_FILE, for a generic endpoint ("" for the others)
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
    endpoint: str = ""
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
        return list(signers.stripe(body, secret or self.secret, timestamp=timestamp).items())


@dataclass
class GitHubScheme:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``; id and type in headers."""

    name: str = "github"
    secret: str = "github-hostile-secret-3c4d"
    signature_headers: tuple[str, ...] = ("X-Hub-Signature-256",)
    timestamped: bool = False
    id_field: str | None = None
    id_header: str | None = "X-GitHub-Delivery"
    endpoint: str = ""
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.env = {"GITHUB_WEBHOOK_SECRET": self.secret}

    def document(self, event_id: str) -> dict[str, Any]:
        return {"action": "opened", "issue": {"id": 1, "title": "hostile"}, "repository": {"full_name": "o/r"}}

    def sign(self, body: bytes, event_id: str, *, secret: str | None = None, timestamp: int | None = None) -> Headers:
        return list(signers.github(body, secret or self.secret, delivery=event_id).items())


@dataclass
class ShopifyScheme:
    """``X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>``; id and topic in headers."""

    name: str = "shopify"
    secret: str = "shopify-hostile-secret-5e6f"
    signature_headers: tuple[str, ...] = ("X-Shopify-Hmac-Sha256",)
    timestamped: bool = False
    id_field: str | None = None
    id_header: str | None = "X-Shopify-Webhook-Id"
    endpoint: str = ""
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.env = {"SHOPIFY_WEBHOOK_SECRET": self.secret}

    def document(self, event_id: str) -> dict[str, Any]:
        return {"id": 820982911946154508, "email": "jon@example.com", "total_price": "10.00"}

    def sign(self, body: bytes, event_id: str, *, secret: str | None = None, timestamp: int | None = None) -> Headers:
        return list(signers.shopify(body, secret or self.secret, webhook_id=event_id).items())


@dataclass
class SlackScheme:
    """``X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<ts>:<body>")>`` and its timestamp
    header; the id is the body's ``event_id`` (optional: without it, the body's hash)."""

    name: str = "slack"
    secret: str = "slack-hostile-secret-7a8b"
    signature_headers: tuple[str, ...] = ("X-Slack-Signature", "X-Slack-Request-Timestamp")
    timestamped: bool = True
    id_field: str | None = None  # an envelope without event_id is valid (app_rate_limited)
    id_header: str | None = None
    endpoint: str = ""
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.env = {"SLACK_SIGNING_SECRET": self.secret}

    def document(self, event_id: str) -> dict[str, Any]:
        return {
            "type": "event_callback",
            "team_id": "T061EG9RZ",
            "event_id": event_id,
            "event": {"type": "app_mention", "user": "U061F7AUR", "text": "hello"},
        }

    def sign(self, body: bytes, event_id: str, *, secret: str | None = None, timestamp: int | None = None) -> Headers:
        return list(signers.slack(body, secret or self.secret, timestamp=timestamp).items())


@dataclass
class StandardScheme:
    """Standard Webhooks: ``webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<ts>.<body>")>``."""

    name: str = "standard"
    secret: str = "whsec_" + "aG9zdGlsZS1zdGFuZGFyZC1rZXktMDEyMzQ1Njc4OQ=="
    signature_headers: tuple[str, ...] = ("webhook-signature", "webhook-timestamp")
    timestamped: bool = True
    id_field: str | None = None
    id_header: str | None = "webhook-id"
    endpoint: str = ""
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.env = {"STANDARD_WEBHOOKS_SECRET": self.secret}

    def document(self, event_id: str) -> dict[str, Any]:
        return {"type": "invoice.paid", "timestamp": "2026-11-23T18:00:00Z", "data": {"id": "inv_1"}}

    def sign(self, body: bytes, event_id: str, *, secret: str | None = None, timestamp: int | None = None) -> Headers:
        # Another secret, whatever its form, becomes another key in the scheme's own form.
        key = "whsec_" + base64.b64encode(secret.encode()).decode() if secret else self.secret
        return list(signers.standard(body, key, message_id=event_id, timestamp=timestamp).items())


@dataclass
class GenericScheme:
    """A generic HMAC endpoint from WEBHOOK_ENDPOINTS_FILE: hex SHA-512 after a prefix, id in a header."""

    name: str = "acme"
    secret: str = "acme-hostile-secret-9c0d"
    signature_headers: tuple[str, ...] = ("X-Acme-Signature",)
    timestamped: bool = False
    id_field: str | None = None
    id_header: str | None = "X-Acme-Delivery"
    env: dict[str, str] = field(init=False)
    endpoint: str = field(init=False)

    def __post_init__(self) -> None:
        self.env = {"ACME_HOSTILE_SECRET": self.secret}
        self.endpoint = (
            "[endpoints.acme]\n"
            'secret_env = "ACME_HOSTILE_SECRET"\n'
            'header = "X-Acme-Signature"\n'
            'algorithm = "sha512"\n'
            'prefix = "sha512="\n'
            'event_id = "header:X-Acme-Delivery"\n'
            'event_type = "json:type"\n'
        )

    def document(self, event_id: str) -> dict[str, Any]:
        return {"type": "order.shipped", "order": {"id": 7, "items": 3}}

    def sign(self, body: bytes, event_id: str, *, secret: str | None = None, timestamp: int | None = None) -> Headers:
        signature = signers.generic(
            body, secret or self.secret, header="X-Acme-Signature", algorithm="sha512", prefix="sha512="
        )
        return [("Content-Type", "application/json"), ("X-Acme-Delivery", event_id), *signature.items()]


SCHEMES: list[Scheme] = [
    StripeScheme(),
    GitHubScheme(),
    ShopifyScheme(),
    SlackScheme(),
    StandardScheme(),
    GenericScheme(),
]


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
