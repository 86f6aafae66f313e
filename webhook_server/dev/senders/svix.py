"""Deliveries through Svix (Clerk's, Resend's): Standard Webhooks signatures under ``svix-*``
header names, signed with the scheme's reference library (``standardwebhooks``)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

from webhook_server.dev.signed import JSON


def message_id() -> str:
    return f"msg_{secrets.token_hex(13)}"


def headers(body: bytes, secret: str, *, message_id: str, sent: datetime | None = None) -> dict[str, str]:
    """The headers Svix sends with ``body``: its id, the time, and ``v1,<signature>``."""
    sent = sent or datetime.now(UTC)
    signature = Webhook(secret).sign(message_id, sent, body.decode("utf-8"))
    return {
        **JSON,
        "User-Agent": "Svix-Webhooks/1.70.0",
        "svix-id": message_id,
        "svix-timestamp": str(int(sent.timestamp())),
        "svix-signature": signature,
    }
