"""Mailgun's webhooks as Mailgun posts them (JSON, the signature inside the body), signed by
Mailgun's documented recipe ("Securing webhooks"), for `send mailgun`."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

from webhook_server.dev.signed import JSON, SignedSample

TYPES = ("delivered", "opened", "clicked", "failed", "complained", "unsubscribed")
DEFAULT_TYPE = "delivered"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None


def signature(key: str, *, timestamp: int | None = None, token: str | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    token = token or secrets.token_hex(25)
    digest = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    return {"timestamp": stamp, "token": token, "signature": digest}


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    event_id = event_id or secrets.token_urlsafe(16)
    event = {
        "id": event_id,
        "event": event_type,
        "timestamp": time.time(),
        "recipient": "jenny.rosen@example.com",
        "message": {"headers": {"message-id": f"{secrets.token_hex(8)}@mg.example.com", "subject": "Hello"}},
        "tags": ["webhook-server"],
    }
    body = json.dumps({"signature": signature(secret), "event-data": event}).encode()
    return SignedSample(event_id, event_type, body, dict(JSON))
