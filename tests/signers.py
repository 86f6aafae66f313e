"""Deliveries signed in the tests by each sender's documented algorithm, with hmac and base64
only: never with the server's code, so a bug there cannot hide behind the same bug here.

Each function takes the body and the secret and returns the headers the sender would send.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
import uuid


def _hmac(key: bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(key, message, algorithm).digest()


def github(body: bytes, secret: str, *, delivery: str | None = None, event: str = "issues") -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Event": event,
        "X-Hub-Signature-256": "sha256=" + _hmac(secret.encode(), body).hex(),
    }


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
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": base64.b64encode(_hmac(secret.encode(), body)).decode(),
    }
    if shop:
        headers |= {"X-Shopify-Shop-Domain": shop, "X-Shopify-API-Version": "2025-10"}
    return headers | ({"X-Shopify-Event-Id": event_id} if event_id else {})


def slack(body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + _hmac(secret.encode(), f"v0:{stamp}:".encode() + body).hex(),
    }


def standard(
    body: bytes, secret: str, *, message_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signature = base64.b64encode(_hmac(key, f"{message_id}.{stamp}.".encode() + body)).decode()
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": stamp,
        "webhook-signature": f"v1,{signature}",
    }


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
