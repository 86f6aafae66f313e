"""Zendesk's webhooks as Zendesk posts them (X-Zendesk-Webhook-Signature over the timestamp and
the body), for `send zendesk`."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime

from webhook_server.dev.signed import JSON, SignedSample, hmac_digest

TYPES = ("zen:event-type:ticket.created", "zen:event-type:ticket.status_changed", "zen:event-type:user.created")
DEFAULT_TYPE = "zen:event-type:ticket.created"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None


def headers(body: bytes, secret: str, *, invocation: str, timestamp: str = "") -> dict[str, str]:
    stamp = timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        **JSON,
        "User-Agent": "Zendesk Webhook",
        "X-Zendesk-Webhook-Id": "01HZZZZZZZZZZZZZZZZZZZZZZZ",
        "X-Zendesk-Webhook-Invocation-Id": invocation,
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Signature": hmac_digest(secret, stamp.encode() + body, encoding="base64"),
    }


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    invocation = event_id or str(secrets.randbelow(10**12))
    now = datetime.now(UTC).isoformat(timespec="seconds")
    document = {
        "type": event_type,
        "account_id": 1234567,
        "id": str(uuid.uuid4()),
        "time": now,
        "zendesk_event_version": "2022-11-06",
        "detail": {"id": "35436", "status": "NEW", "subject": "Help, my printer is on fire!"},
    }
    body = json.dumps(document).encode()
    return SignedSample(invocation, event_type, body, headers(body, secret, invocation=invocation))
