"""Linear's webhooks as Linear posts them (Linear-Signature over the body, which carries its
webhookTimestamp), for `send linear`."""

from __future__ import annotations

import json
import time
import uuid

from webhook_server.dev.signed import JSON, SignedSample, hmac_digest

# <type>.<action>, the type the server stores.
TYPES = ("Issue.create", "Issue.update", "Comment.create", "Project.update")
DEFAULT_TYPE = "Issue.create"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None


def headers(body: bytes, secret: str, *, delivery: str, entity: str) -> dict[str, str]:
    return {
        **JSON,
        "User-Agent": "Linear-Webhook",
        "Linear-Delivery": delivery,
        "Linear-Event": entity,
        "Linear-Signature": hmac_digest(secret, body),
    }


def document(event_type: str, *, timestamp_ms: int | None = None) -> dict[str, object]:
    entity, _, action = event_type.partition(".")
    return {
        "action": action or "create",
        "type": entity,
        "data": {"id": str(uuid.uuid4()), "title": "Found a bug", "identifier": "ENG-42"},
        "url": "https://linear.app/acme/issue/ENG-42",
        "organizationId": str(uuid.uuid4()),
        "webhookTimestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
        "webhookId": str(uuid.uuid4()),
    }


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    delivery = event_id or str(uuid.uuid4())
    kind = event_type if "." in event_type else DEFAULT_TYPE
    body = json.dumps(document(kind)).encode()
    return SignedSample(delivery, kind, body, headers(body, secret, delivery=delivery, entity=kind.split(".")[0]))
