"""Typeform's webhooks as Typeform posts them (Typeform-Signature: sha256=<base64>), for `send typeform`."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

from webhook_server.dev.signed import SignedSample, hmac_digest, signed_json

TYPES = ("form_response",)
DEFAULT_TYPE = "form_response"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None


def headers(body: bytes, secret: str) -> dict[str, str]:
    signature = "sha256=" + hmac_digest(secret, body, encoding="base64")
    return signed_json("Typeform Webhooks", "Typeform-Signature", signature)


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    event_id = event_id or secrets.token_hex(13).upper()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    answer = {"type": "text", "text": "Lorem ipsum", "field": {"id": "JwWggjAKtOkA", "type": "short_text"}}
    response = {"form_id": "lT4Z3j", "token": secrets.token_hex(16), "submitted_at": now, "answers": [answer]}
    document = {"event_id": event_id, "event_type": event_type, "form_response": response}
    body = json.dumps(document).encode()
    return SignedSample(event_id, event_type, body, headers(body, secret))
