"""Adyen (standard webhooks): each notification item carries its own signature,
``additionalData.hmacSignature`` = base64 HMAC-SHA256, keyed with the hex HMAC key from Adyen's
Customer Area, of the item's ``pspReference``, ``originalReference``, ``merchantAccountCode``,
``merchantReference``, ``amount.value``, ``amount.currency``, ``eventCode`` and ``success``
joined with ``:`` (as the Adyen library's ``generate_notification_sig`` builds it).

Only those fields are signed: the rest of the body (``additionalData``, ``reason``, ``eventDate``)
is not, which is Adyen's design; the body is stored as it came. Every item must verify. The
event id is ``<pspReference>:<eventCode>:<success>`` (Adyen's advice: one payment's events are
told apart by their code), or the body's hash for a delivery of several items; the type is the
``eventCode`` (``AUTHORISATION``). No timestamp is signed, so no replay window.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from typing import Any

from webhook_server.errors import ConfigError
from webhook_server.schemes.base import (
    Rejected,
    RequestUrl,
    VerifiedEvent,
    body_digest,
    identifier,
    json_body,
)
from webhook_server.schemes.signing import decode_signature, require_any_match

SIGNED_FIELDS = ("pspReference", "originalReference", "merchantAccountCode", "merchantReference")
SIGNED_AFTER = ("eventCode", "success")
SIGNATURE_FIELD = "additionalData.hmacSignature"


def check_secrets(secrets: tuple[str, ...], variable: str) -> None:
    _keys(secrets, variable)


def _keys(secrets: tuple[str, ...], variable: str) -> tuple[bytes, ...]:
    try:
        keys = tuple(binascii.unhexlify(secret) for secret in secrets)
    except (ValueError, binascii.Error):
        keys = ()
    if not keys or not all(keys):
        raise ConfigError(variable, "a value is not an HMAC key in hex; copy it from the webhook's page in Adyen")
    return keys


class AdyenVerifier:
    name = "adyen"

    def __init__(self, secrets: tuple[str, ...], *, variable: str = "ADYEN_HMAC_KEY") -> None:
        self._keys = _keys(secrets, variable)
        self._variable = variable

    def verify(self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None) -> VerifiedEvent:
        text, document = json_body(body)
        items = document.get("notificationItems")
        if not isinstance(items, list) or not items:
            raise Rejected("event_malformed", "an Adyen notification needs a notificationItems list")
        notifications = [_item(entry) for entry in items]
        for notification in notifications:
            self._require_signed(notification)
        first = notifications[0]
        event_type = identifier(str(first.get("eventCode") or ""), "the eventCode", "event_malformed")
        if len(notifications) > 1:
            return VerifiedEvent(body_digest(body), event_type, text)
        event_id = f"{first.get('pspReference')}:{first.get('eventCode')}:{first.get('success')}"
        return VerifiedEvent(identifier(event_id, "the pspReference", "event_malformed"), event_type, text)

    def _require_signed(self, notification: dict[str, Any]) -> None:
        additional = notification.get("additionalData")
        signed = additional.get("hmacSignature") if isinstance(additional, dict) else None
        if not isinstance(signed, str) or not signed:
            raise Rejected("signature_missing", f"a notification item has no {SIGNATURE_FIELD}; enable HMAC in Adyen")
        require_any_match(
            self._keys,
            [_message(notification)],
            decode_signature(signed, "base64", SIGNATURE_FIELD),
            algorithm="sha256",
            problem=f"the signature matches none of the configured keys; check {self._variable} against the "
            "webhook's HMAC key in Adyen's Customer Area",
        )


def _item(entry: Any) -> dict[str, Any]:
    item = entry.get("NotificationRequestItem") if isinstance(entry, dict) else None
    if not isinstance(item, dict) or not isinstance(item.get("amount"), dict):
        raise Rejected("event_malformed", "a notification item needs a NotificationRequestItem with an amount")
    return item


def _message(item: dict[str, Any]) -> bytes:
    """The signed string, each value as Python's str() gives it, as the Adyen library does."""
    amount = item["amount"]
    values = [
        *(item.get(name, "") for name in SIGNED_FIELDS),
        amount.get("value", ""),
        amount.get("currency", ""),
        *(item.get(name, "") for name in SIGNED_AFTER),
    ]
    return ":".join(map(str, values)).encode("utf-8", "surrogatepass")
