"""Resend's webhooks as Resend posts them through Svix, for `send resend`: email events."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from webhook_server.dev.senders import svix
from webhook_server.dev.signed import SignedSample

# Resend's email events (the body's type); each carries the email it is about.
TYPES = ("email.sent", "email.delivered", "email.bounced", "email.opened", "email.clicked", "email.complained")
DEFAULT_TYPE = "email.delivered"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None


def _email(sent: datetime) -> dict[str, Any]:
    return {
        "email_id": str(uuid.uuid4()),
        "created_at": sent.isoformat(),
        "from": "Acme <onboarding@example.com>",
        "to": ["jenny.rosen@example.com"],
        "subject": "webhook-server sample",
    }


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    sent = datetime.now(UTC)
    document = {"type": event_type, "created_at": sent.isoformat(), "data": _email(sent)}
    body = json.dumps(document).encode()
    message_id = event_id or svix.message_id()
    return SignedSample(message_id, event_type, body, svix.headers(body, secret, message_id=message_id, sent=sent))
