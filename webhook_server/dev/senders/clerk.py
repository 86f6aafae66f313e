"""Clerk's webhooks as Clerk posts them through Svix, for `send clerk`: user and session events."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from webhook_server.dev.senders import svix
from webhook_server.dev.signed import SignedSample


def _user(now_ms: int) -> dict[str, Any]:
    return {
        "id": f"user_{secrets.token_hex(13)}",
        "object": "user",
        "first_name": "Jenny",
        "last_name": "Rosen",
        "email_addresses": [{"email_address": "jenny.rosen@example.com", "id": f"idn_{secrets.token_hex(13)}"}],
        "created_at": now_ms,
        "updated_at": now_ms,
    }


def _session(now_ms: int) -> dict[str, Any]:
    return {
        "id": f"sess_{secrets.token_hex(13)}",
        "object": "session",
        "user_id": f"user_{secrets.token_hex(13)}",
        "status": "active",
        "created_at": now_ms,
        "expire_at": now_ms + 7 * 24 * 3600 * 1000,
    }


# Clerk's common event families (the body's type), each with the object it carries as data.
BODIES: dict[str, Callable[[int], dict[str, Any]]] = {"user.": _user, "session.": _session}
DEFAULT_TYPE = "user.created"
CATALOGUE = BODIES


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    now_ms = int(time.time() * 1000)
    build = BODIES["session." if event_type.startswith("session.") else "user."]
    document = {"data": build(now_ms), "object": "event", "type": event_type, "timestamp": now_ms}
    body = json.dumps(document).encode()
    message_id = event_id or svix.message_id()
    return SignedSample(message_id, event_type, body, svix.headers(body, secret, message_id=message_id))
