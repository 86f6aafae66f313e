"""SendGrid's Event Webhook: ``X-Twilio-Email-Event-Webhook-Signature`` = base64 of a DER ECDSA
P-256/SHA-256 signature of ``<X-Twilio-Email-Event-Webhook-Timestamp><body>``; the endpoint
holds the verification key SendGrid shows once signing is enabled (Mail Settings → Event
Webhook → Signature Verification: base64 of the key's DER).

A delivery is a JSON array of events (``delivered``, ``open``, …), each with its own
``sg_event_id``; it is stored as one event, ``{"events": [...]}`` (schemes/bodies.py), under the
body's hash, so a retried batch is a duplicate. Its type is the events' ``event`` when they all
have the same, else ``batch``.

No replay window: SendGrid retries a failed batch for 24 hours and does not say whether a retry
is signed anew, and a replay of a stored batch is a duplicate all the same.
"""

from __future__ import annotations

from collections.abc import Mapping

from webhook_server.schemes.base import (
    Rejected,
    RequestUrl,
    VerifiedEvent,
    body_digest,
    decode_utf8,
    parse_json,
)
from webhook_server.schemes.bodies import shared_value, stored_document
from webhook_server.schemes.keys import keys_from, p256_key, require_signed, signature_bytes
from webhook_server.schemes.signing import signature_and_timestamp, unix_time

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
# A DER ECDSA P-256 signature is at most 72 bytes; anything longer is not one.
MAX_SIGNATURE_BYTES = 72
KEY_DESCRIPTION = "a P-256 public key in base64 (SendGrid's Event Webhook verification key)"


def check_secrets(secrets: tuple[str, ...], variable: str) -> None:
    keys_from(secrets, variable, p256_key, KEY_DESCRIPTION)


class SendGridVerifier:
    name = "sendgrid"

    def __init__(self, secrets: tuple[str, ...], *, variable: str = "SENDGRID_VERIFICATION_KEY") -> None:
        self._keys = keys_from(secrets, variable, p256_key, KEY_DESCRIPTION)
        self._variable = variable

    def verify(self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None) -> VerifiedEvent:
        signed, timestamp = signature_and_timestamp(headers, SIGNATURE_HEADER, TIMESTAMP_HEADER, "SendGrid")
        unix_time(timestamp, TIMESTAMP_HEADER)
        signature = signature_bytes(signed, "base64", SIGNATURE_HEADER, range(8, MAX_SIGNATURE_BYTES + 1))
        require_signed(
            self._keys,
            timestamp.encode() + body,
            signature,
            problem=f"the signature matches none of the configured keys; check {self._variable} against the "
            "verification key in SendGrid's Event Webhook settings",
        )
        text = decode_utf8(body)
        events = parse_json(text)
        if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
            raise Rejected("body_not_json", "a SendGrid delivery is a JSON array of event objects")
        return VerifiedEvent(body_digest(body), shared_value(events, "event"), text, document=stored_document(body))
