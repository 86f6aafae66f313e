"""Mailgun: the body's ``signature`` object holds ``timestamp``, ``token`` and ``signature`` =
hex HMAC-SHA256, keyed with the domain's webhook signing key, of ``<timestamp><token>``; the
timestamp within 15 minutes (the window of Mailgun's SDK, ``SecurityGuard.verify_webhook``).

Only the timestamp and token are signed, not the event: that is Mailgun's design. Whoever
captures a delivery holds a signature valid for 15 minutes over any ``event-data``; only TLS
keeps deliveries from being read. The event id is ``event-data.id`` (Mailgun's event id), the
type ``event-data.event`` (``delivered``, ``opened``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webhook_server.schemes.base import Rejected, RequestUrl, VerifiedEvent, json_body, required_identifier
from webhook_server.schemes.signing import TimedVerifier, decode_signature, require_any_match, require_fresh, unix_time

# Mailgun's SDK default (max_age_seconds).
TOLERANCE_SECONDS = 900


class MailgunVerifier(TimedVerifier):
    name = "mailgun"
    variable = "MAILGUN_WEBHOOK_SIGNING_KEY"
    tolerance = TOLERANCE_SECONDS

    def verify(self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None) -> VerifiedEvent:
        text, document = json_body(body)
        signed = document.get("signature")
        if not isinstance(signed, dict):
            raise Rejected("signature_missing", "the body has no signature object; is this a Mailgun webhook (JSON)?")
        timestamp, token, signature = (_text(signed, field) for field in ("timestamp", "token", "signature"))
        require_fresh(unix_time(timestamp, "signature.timestamp"), tolerance=self._tolerance)
        require_any_match(
            self._keys,
            [(timestamp + token).encode()],
            decode_signature(signature, "hex", "signature.signature"),
            algorithm="sha256",
            problem=f"the signature matches none of the configured keys; check {self._variable} against the "
            "HTTP webhook signing key in Mailgun (Sending → Webhooks)",
        )
        event = document.get("event-data")
        if not isinstance(event, dict):
            raise Rejected("event_malformed", "the body has no event-data object")
        return VerifiedEvent(required_identifier(event, "id"), required_identifier(event, "event"), text)


def _text(signed: dict[str, Any], field: str) -> str:
    value = signed.get(field)
    if not isinstance(value, str) or not value:
        raise Rejected("signature_malformed", f"the body's signature.{field} is not a string")
    return value
