"""HubSpot's app webhooks as HubSpot posts them: a batch of events signed (v3) with the URL, for
`send hubspot`; ``headers`` is HubSpot's documented recipe ("Validating requests", v3)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from webhook_server.dev.signed import JSON, SignedSample

# HubSpot's common subscription types (the events' subscriptionType).
TYPES = ("contact.creation", "contact.propertyChange", "deal.creation", "company.deletion")
DEFAULT_TYPE = "contact.creation"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None


def headers(url: str, body: bytes, secret: str, *, timestamp_ms: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    message = b"POST" + url.encode() + body + stamp.encode()
    signature = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()
    return {**JSON, "X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": stamp}


def event(subscription_type: str, event_id: int, now_ms: int) -> dict[str, Any]:
    document: dict[str, Any] = {
        "eventId": event_id,
        "subscriptionId": 2881778,
        "portalId": 62515,
        "appId": 1160452,
        "occurredAt": now_ms,
        "subscriptionType": subscription_type,
        "attemptNumber": 0,
        "objectId": 123 + event_id % 1000,
        "changeSource": "CRM",
    }
    if subscription_type.endswith(".propertyChange"):
        document |= {"propertyName": "email", "propertyValue": "jenny.rosen@example.com"}
    return document


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    """One event; ``event_id`` (digits) is its eventId. Stored under the batch's id, which the
    server derives from the events' subscription and event ids."""
    now_ms = int(time.time() * 1000)
    number = int(event_id) if event_id and event_id.isdigit() else secrets.randbelow(10**9)
    body = json.dumps([event(event_type, number, now_ms)]).encode()
    stored_id = "hubspot:" + hashlib.sha256(f"2881778:{number}".encode()).hexdigest()
    return SignedSample(stored_id, event_type, body, headers(url, body, secret, timestamp_ms=now_ms))
