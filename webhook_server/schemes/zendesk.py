"""Zendesk: ``X-Zendesk-Webhook-Signature`` = base64 HMAC-SHA256 of
``<X-Zendesk-Webhook-Signature-Timestamp><body>``, keyed with the webhook's signing secret; the
timestamp (ISO 8601) within 5 minutes. The id is ``X-Zendesk-Webhook-Invocation-Id``, the type
the body's ``type`` (``zen:event-type:ticket.created``), else the webhook's name ``zendesk``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from webhook_server.schemes.base import Rejected, identifier
from webhook_server.schemes.body_hmac import BodyHmacVerifier, Signature
from webhook_server.schemes.signing import header, identifier_header, require_fresh

TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"


class ZendeskVerifier(BodyHmacVerifier):
    name = "zendesk"
    variable = "ZENDESK_WEBHOOK_SECRET"
    signature = Signature("X-Zendesk-Webhook-Signature", encoding="base64")

    def signed(self, body: bytes, headers: Mapping[str, str], value: str) -> bytes:
        timestamp = header(headers, TIMESTAMP_HEADER, reason="signature_missing")
        try:
            moment = datetime.fromisoformat(timestamp)
        except ValueError:
            raise Rejected("signature_malformed", f"the {TIMESTAMP_HEADER} header is not an ISO 8601 time") from None
        if moment.tzinfo is None:
            raise Rejected("signature_malformed", f"the {TIMESTAMP_HEADER} header has no time zone")
        require_fresh(moment.timestamp(), tolerance=self._tolerance)
        return timestamp.encode() + body

    def identify(self, document: dict[str, Any], headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
        kind = document.get("type")
        event_id = identifier_header(headers, "X-Zendesk-Webhook-Invocation-Id")
        if isinstance(kind, str) and kind:
            return event_id, identifier(kind, "the body's type", "event_malformed")
        return event_id, "zendesk"
