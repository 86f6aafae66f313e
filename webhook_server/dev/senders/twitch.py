"""Twitch EventSub notifications as Twitch posts them, signed by Twitch's documented recipe
("Verifying the event message"), for `send twitch`."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from webhook_server.dev.signed import JSON, SignedSample

TYPES = ("channel.follow", "channel.subscribe", "stream.online", "stream.offline")
DEFAULT_TYPE = "channel.follow"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None


def timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 with nanoseconds, as Twitch writes it."""
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def headers(
    body: bytes, secret: str, *, message_id: str, subscription: str, kind: str = "notification", sent: str = ""
) -> dict[str, str]:
    sent = sent or timestamp()
    digest = hmac.new(secret.encode(), message_id.encode() + sent.encode() + body, hashlib.sha256).hexdigest()
    return {
        **JSON,
        "Twitch-Eventsub-Message-Id": message_id,
        "Twitch-Eventsub-Message-Retry": "0",
        "Twitch-Eventsub-Message-Type": kind,
        "Twitch-Eventsub-Message-Signature": f"sha256={digest}",
        "Twitch-Eventsub-Message-Timestamp": sent,
        "Twitch-Eventsub-Subscription-Type": subscription,
        "Twitch-Eventsub-Subscription-Version": "2" if subscription == "channel.follow" else "1",
    }


def document(subscription: str, **extra: Any) -> dict[str, Any]:
    broadcaster = str(secrets.randbelow(10**8))
    return {
        "subscription": {
            "id": str(uuid.uuid4()),
            "status": "enabled",
            "type": subscription,
            "version": "1",
            "condition": {"broadcaster_user_id": broadcaster},
            "transport": {"method": "webhook", "callback": "https://example.com/webhooks/twitch"},
            "created_at": timestamp(),
        },
        **extra,
    }


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    message_id = event_id or str(uuid.uuid4())
    event = {"user_id": "1337", "user_login": "awesome_user", "broadcaster_user_login": "cool_user"}
    body = json.dumps(document(event_type, event=event)).encode()
    return SignedSample(
        message_id, event_type, body, headers(body, secret, message_id=message_id, subscription=event_type)
    )
