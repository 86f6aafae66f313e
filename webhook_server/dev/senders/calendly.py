"""Calendly's webhooks as Calendly posts them (Calendly-Webhook-Signature: t=…,v1=… over
"<t>.<body>"), for `send calendly`."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime

from webhook_server.dev.signed import JSON, SignedSample, hmac_digest
from webhook_server.schemes.base import body_digest

TYPES = ("invitee.created", "invitee.canceled", "routing_form_submission.created")
DEFAULT_TYPE = "invitee.created"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None


def headers(body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {**JSON, "Calendly-Webhook-Signature": f"t={stamp},v1={hmac_digest(secret, stamp.encode() + b'.' + body)}"}


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    """Calendly's events have no id: the server stores them under the body's hash."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    invitee = f"https://api.calendly.com/scheduled_events/{secrets.token_hex(8)}/invitees/{secrets.token_hex(8)}"
    document = {
        "created_at": now,
        "created_by": "https://api.calendly.com/users/AAAAAAAAAAAAAAAA",
        "event": event_type,
        "payload": {"uri": invitee, "email": "jenny.rosen@example.com", "status": "active"},
    }
    body = json.dumps(document).encode()
    return SignedSample(body_digest(body), event_type, body, headers(body, secret))
