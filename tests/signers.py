"""The one way tests sign a delivery, whatever the sender: every test (unit, integration, hostile)
signs through these functions.

They delegate to webhook_server/dev/samples.py, which signs with the sender's SDK where it can
(stripe) and by the sender's documented recipe otherwise, never with the server's verification
code; the unit tests check each recipe against the sender's published example or library.
Each function takes the body and the secret and returns the headers the sender would send;
ids default to fresh ones.
"""

from __future__ import annotations

import json
import secrets
import uuid

from webhook_server.dev import samples
from webhook_server.dev.samples import signed_stripe_request, stripe_event

__all__ = [
    "generic",
    "github",
    "shopify",
    "signed_stripe_request",
    "slack",
    "slack_event",
    "standard",
    "standard_event",
    "stripe",
    "stripe_event",
]


def stripe(body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    return samples.stripe_headers(body, secret, timestamp=timestamp)


def github(body: bytes, secret: str, *, delivery: str | None = None, event: str = "issues") -> dict[str, str]:
    return samples.github_headers(body, secret, delivery=delivery or str(uuid.uuid4()), event=event)


def shopify(
    body: bytes,
    secret: str,
    *,
    webhook_id: str | None = None,
    topic: str = "orders/create",
    event_id: str | None = None,
    shop: str | None = None,
) -> dict[str, str]:
    """Only the headers the scheme checks, unless ``event_id`` (X-Shopify-Event-Id) or ``shop``
    (X-Shopify-Shop-Domain and X-Shopify-API-Version, as Shopify sends them) are given."""
    headers = samples.shopify_headers(body, secret, webhook_id=webhook_id or str(uuid.uuid4()), topic=topic)
    if shop:
        headers |= {"X-Shopify-Shop-Domain": shop, "X-Shopify-API-Version": "2025-10"}
    return headers | ({"X-Shopify-Event-Id": event_id} if event_id else {})


def slack(body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    return samples.slack_headers(body, secret, timestamp=timestamp)


def standard(
    body: bytes, secret: str, *, message_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    message_id = message_id or f"msg_{secrets.token_hex(12)}"
    return samples.standard_headers(body, secret, message_id=message_id, timestamp=timestamp)


def generic(
    body: bytes, secret: str, *, header: str, algorithm: str = "sha256", encoding: str = "hex", prefix: str = ""
) -> dict[str, str]:
    """A generic endpoint's signature header, as its WEBHOOK_ENDPOINTS_FILE table describes it."""
    return {header: prefix + samples.hmac_signature(secret, body, algorithm, encoding)}


def slack_event(event_id: str | None = None, event_type: str = "app_mention") -> bytes:
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T061EG9RZ",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event": {"type": event_type, "user": "U061F7AUR", "text": "hello"},
        }
    ).encode()


def standard_event(event_type: str = "invoice.paid") -> bytes:
    return json.dumps({"type": event_type, "timestamp": "2026-11-23T18:00:00Z", "data": {"id": "inv_1"}}).encode()
