"""Square's webhooks as Square posts them: signed with the notification URL by Square's
documented recipe ("Validate notifications"), for `send square`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from webhook_server.dev.signed import JSON, SignedSample

TYPES = ("payment.created", "payment.updated", "refund.created", "order.created")
DEFAULT_TYPE = "payment.updated"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None


def headers(url: str, body: bytes, key: str) -> dict[str, str]:
    signature = base64.b64encode(hmac.new(key.encode(), url.encode() + body, hashlib.sha256).digest()).decode()
    return {**JSON, "User-Agent": "Square Connect v2", "x-square-hmacsha256-signature": signature}


def _object(kind: str, now: str) -> dict[str, Any]:
    object_id = secrets.token_urlsafe(18)
    if kind.startswith("order."):
        return {"order_created": {"order_id": object_id, "state": "OPEN", "version": 1, "created_at": now}}
    money = {"amount": 2000, "currency": "USD"}
    name = kind.split(".")[0]
    return {name: {"id": object_id, "amount_money": money, "status": "COMPLETED", "created_at": now}}


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    event_id = event_id or str(uuid.uuid4())
    document = {
        "merchant_id": "6SSW7HV8K2ST5",
        "type": event_type,
        "event_id": event_id,
        "created_at": now,
        "data": {"type": event_type.split(".")[0], "id": secrets.token_urlsafe(18), "object": _object(event_type, now)},
    }
    body = json.dumps(document).encode()
    return SignedSample(event_id, event_type, body, headers(url, body, secret))
