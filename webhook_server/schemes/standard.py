"""Standard Webhooks (Svix and others): ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature``, a space-separated list of ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``
entries, keyed with the base64 part of a ``whsec_`` secret; 5 minutes of tolerance.

The HMAC and its comparison are the ``standardwebhooks`` reference implementation's. Its
parsing is not ours to rely on for hostile input (an entry without a comma or with bad base64
raises ValueError, and every failure is one message), so the headers are checked here first
and the library only ever sees well-formed ones: its refusal then means a wrong signature.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from standardwebhooks import Webhook, WebhookVerificationError

from webhook_server.errors import ConfigError
from webhook_server.schemes.base import (
    Rejected,
    RequestUrl,
    VerifiedEvent,
    decode_utf8,
    parse_json_object,
    required_identifier,
)
from webhook_server.schemes.signing import decode_signature, header, identifier_header, require_fresh, unix_time

SIGNATURE_HEADER = "webhook-signature"
TIMESTAMP_HEADER = "webhook-timestamp"
ID_HEADER = "webhook-id"


def check_secrets(secrets: tuple[str, ...], variable: str) -> None:
    """At start: keys are the base64 after ``whsec_``; the library would silently drop stray
    characters and verify with a different key, so a typo is caught here instead."""
    for secret in secrets:
        key = secret.removeprefix("whsec_")
        try:
            decoded = base64.b64decode(key + "=" * (-len(key) % 4), validate=True)
        except (ValueError, binascii.Error):
            decoded = b""
        if not decoded:
            raise ConfigError(
                variable,
                "a value is not whsec_ followed by base64; copy the endpoint's signing secret as the sender shows it",
            )


class StandardWebhooksVerifier:
    name = "standard"

    def __init__(self, secrets: tuple[str, ...], *, variable: str = "STANDARD_WEBHOOKS_SECRET") -> None:
        self._webhooks = tuple(Webhook(secret) for secret in secrets)
        self._variable = variable

    def verify(self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None) -> VerifiedEvent:
        hint = "; is this request from a Standard Webhooks sender?"
        signatures = _v1_entries(header(headers, SIGNATURE_HEADER, reason="signature_missing", hint=hint))
        timestamp = header(headers, TIMESTAMP_HEADER, reason="signature_missing", hint=hint)
        message_id = identifier_header(headers, ID_HEADER)
        require_fresh(unix_time(timestamp, TIMESTAMP_HEADER))
        text = decode_utf8(body)
        signed = {ID_HEADER: message_id, TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: " ".join(signatures)}
        # Every secret is tried, so the time taken says nothing about which one matched.
        matches = [_matches(webhook, text, signed) for webhook in self._webhooks]
        if not any(matches):
            raise Rejected(
                "signature_invalid",
                f"the signature matches none of the configured secrets; check {self._variable} "
                "against the endpoint's signing secret (whsec_…) shown by the sender",
            )
        return VerifiedEvent(message_id, required_identifier(parse_json_object(text), "type"), text)


def _v1_entries(value: str) -> list[str]:
    """The ``v1,<base64>`` entries, each decodable; other versions (``v1a``: asymmetric) are skipped."""
    entries = []
    for entry in value.split():
        version, comma, signature = entry.partition(",")
        if not comma or not version or "," in signature:
            raise Rejected("signature_malformed", f"the {SIGNATURE_HEADER} header has an entry that is not v1,<base64>")
        if version == "v1":
            decode_signature(signature, "base64", SIGNATURE_HEADER)
            entries.append(entry)
    if not entries:
        raise Rejected("signature_malformed", f"the {SIGNATURE_HEADER} header has no v1,<base64> entry")
    return entries


def _matches(webhook: Webhook, text: str, headers: dict[str, str]) -> bool:
    try:
        webhook.verify(text, headers, json_parse=False)
    except WebhookVerificationError:
        return False
    return True
