"""Zoom's webhooks as Zoom posts them, signed by Zoom's documented recipe ("Verify webhook
events"), for `send zoom`."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

from webhook_server.dev.signed import JSON, SignedSample
from webhook_server.schemes.base import body_digest

TYPES = ("meeting.started", "meeting.ended", "meeting.participant_joined", "recording.completed")
DEFAULT_TYPE = "meeting.started"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None


def headers(body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {**JSON, "x-zm-request-timestamp": stamp, "x-zm-signature": f"v0={digest}"}


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    """Zoom's events have no id: the server stores them under the body's hash."""
    now_ms = int(time.time() * 1000)
    meeting = {"id": str(secrets.randbelow(10**11)), "uuid": secrets.token_urlsafe(16), "topic": "Weekly sync"}
    document = {"event": event_type, "event_ts": now_ms, "payload": {"account_id": "AAAAAAAAAA", "object": meeting}}
    body = json.dumps(document).encode()
    return SignedSample(body_digest(body), event_type, body, headers(body, secret))
