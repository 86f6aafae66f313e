"""Adyen's standard webhooks as Adyen posts them: one notification item signed by Adyen's
documented recipe (``signature``), for `send adyen`; the HMAC key is hex, as Adyen shows it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from webhook_server.dev.signed import JSON, SignedSample

# Adyen's common event codes.
TYPES = ("AUTHORISATION", "CAPTURE", "REFUND", "CANCELLATION", "CHARGEBACK")
DEFAULT_TYPE = "AUTHORISATION"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None


def signature(item: dict[str, Any], hex_key: str) -> str:
    """Base64 HMAC-SHA256 of the item's signed fields joined with ':' ("Verify HMAC signatures")."""
    amount = item["amount"]
    fields = [item.get(name, "") for name in ("pspReference", "originalReference", "merchantAccountCode")]
    fields += [item.get("merchantReference", ""), amount["value"], amount["currency"]]
    fields += [item.get("eventCode", ""), item.get("success", "")]
    message = ":".join(str(field) for field in fields).encode()
    return base64.b64encode(hmac.new(bytes.fromhex(hex_key), message, hashlib.sha256).digest()).decode()


def notification(event_code: str, psp_reference: str) -> dict[str, Any]:
    item = {
        "amount": {"currency": "EUR", "value": 1000},
        "eventCode": event_code,
        "eventDate": datetime.now(UTC).isoformat(timespec="seconds"),
        "merchantAccountCode": "WebhookServerECOM",
        "merchantReference": f"order-{secrets.randbelow(10**6)}",
        "paymentMethod": "visa",
        "pspReference": psp_reference,
        "reason": "null",
        "success": "true",
    }
    if event_code != "AUTHORISATION":
        item["originalReference"] = secrets.token_hex(8).upper()
    return item


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    """``event_id`` is the pspReference; the server stores ``<pspReference>:<eventCode>:true``."""
    psp_reference = event_id or secrets.token_hex(8).upper()
    item = notification(event_type, psp_reference)
    item["additionalData"] = {"hmacSignature": signature(item, secret)}
    body = json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": item}]}).encode()
    return SignedSample(f"{psp_reference}:{event_type}:true", event_type, body, dict(JSON))
