"""Intercom's webhook notifications as Intercom posts them (X-Hub-Signature, HMAC-SHA1 with the
app's client secret), for `send intercom`."""

from __future__ import annotations

import json
import secrets
import time

from webhook_server.dev.signed import SignedSample, hmac_digest, signed_json

TYPES = ("conversation.user.created", "conversation.admin.replied", "contact.user.created", "ping")
DEFAULT_TYPE = "conversation.user.created"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None


def headers(body: bytes, secret: str) -> dict[str, str]:
    return signed_json("Intercom-Webhook", "X-Hub-Signature", "sha1=" + hmac_digest(secret, body, algorithm="sha1"))


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    notification_id = event_id or f"notif_{secrets.token_hex(16)}"
    document = {
        "type": "notification_event",
        "app_id": "abc123de",
        "id": notification_id,
        "topic": event_type,
        "created_at": int(time.time()),
        "data": {
            "type": "notification_event_data",
            "item": {"type": "conversation", "id": str(secrets.randbelow(10**9))},
        },
    }
    body = json.dumps(document).encode()
    return SignedSample(notification_id, event_type, body, headers(body, secret))
