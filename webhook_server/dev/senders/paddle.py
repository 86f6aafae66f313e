"""Paddle Billing's notifications as Paddle posts them: ``Paddle-Signature`` by Paddle's
documented recipe ("Verify webhook signatures"), for `send paddle`."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from datetime import UTC, datetime

from webhook_server.dev.signed import JSON, SignedSample

TYPES = ("transaction.completed", "transaction.paid", "subscription.created", "subscription.canceled")
DEFAULT_TYPE = "transaction.completed"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None


def headers(body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {**JSON, "Paddle-Signature": f"ts={stamp};h1={digest}"}


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    event_id = event_id or f"evt_{secrets.token_hex(13)}"
    family = event_type.split(".")[0]
    prefix = {"transaction": "txn", "subscription": "sub"}.get(family, family[:3])
    document = {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": datetime.now(UTC).isoformat(),
        "notification_id": f"ntf_{secrets.token_hex(13)}",
        "data": {"id": f"{prefix}_{secrets.token_hex(13)}", "status": event_type.split(".")[1], "currency_code": "USD"},
    }
    body = json.dumps(document).encode()
    return SignedSample(event_id, event_type, body, headers(body, secret))
