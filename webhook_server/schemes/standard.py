"""Standard Webhooks (Svix and others): ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature``, a space-separated list of ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``
entries, keyed with the base64 part of a ``whsec_`` secret; 5 minutes of tolerance.

Svix, and the senders that deliver through it (Clerk, Resend: named schemes of their own, so
their events are stored under their name), send the same headers named ``svix-id``,
``svix-timestamp`` and ``svix-signature``; a request carries one family or the other, and the
``webhook-*`` one is read when both are there (the svix library reads ``svix-*`` first; a sender
sends one family, so this only decides which of two forgeries is refused).

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
from webhook_server.schemes.signing import (
    TOLERANCE_SECONDS,
    decode_signature,
    header,
    identifier_header,
    require_fresh,
    unix_time,
)

SIGNATURE_HEADER = "webhook-signature"
TIMESTAMP_HEADER = "webhook-timestamp"
ID_HEADER = "webhook-id"
# The header families, in the order they are looked for: (id, timestamp, signature).
FAMILIES = ((ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER), ("svix-id", "svix-timestamp", "svix-signature"))


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

    def __init__(
        self,
        secrets: tuple[str, ...],
        *,
        variable: str = "STANDARD_WEBHOOKS_SECRET",
        tolerance: float = TOLERANCE_SECONDS,
    ) -> None:
        self._webhooks = tuple(Webhook(secret) for secret in secrets)
        self._variable = variable
        self._tolerance = tolerance

    def verify(self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None) -> VerifiedEvent:
        id_name, timestamp_name, signature_name = _family(headers)
        signatures = _v1_entries(header(headers, signature_name), signature_name)
        timestamp = header(headers, timestamp_name, reason="signature_missing")
        message_id = identifier_header(headers, id_name)
        require_fresh(unix_time(timestamp, timestamp_name), tolerance=self._tolerance)
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


class ClerkVerifier(StandardWebhooksVerifier):
    """Clerk delivers through Svix: its Dashboard's Webhooks page shows the endpoint's ``whsec_``
    Signing Secret; the type is the body's (``user.created``), the id ``svix-id``."""

    name = "clerk"

    def __init__(
        self,
        secrets: tuple[str, ...],
        *,
        variable: str = "CLERK_WEBHOOK_SIGNING_SECRET",
        tolerance: float = TOLERANCE_SECONDS,
    ) -> None:
        super().__init__(secrets, variable=variable, tolerance=tolerance)


class ResendVerifier(StandardWebhooksVerifier):
    """Resend delivers through Svix: each webhook's page shows its ``whsec_`` signing secret;
    the type is the body's (``email.delivered``), the id ``svix-id``."""

    name = "resend"

    def __init__(
        self, secrets: tuple[str, ...], *, variable: str = "RESEND_WEBHOOK_SECRET", tolerance: float = TOLERANCE_SECONDS
    ) -> None:
        super().__init__(secrets, variable=variable, tolerance=tolerance)


def _family(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """The header names this request uses: the first family whose signature header it has."""
    for family in FAMILIES:
        if (headers.get(family[2]) or "").strip():
            return family
    raise Rejected(
        "signature_missing",
        f"no {SIGNATURE_HEADER} (nor svix-signature) header; is this request from a Standard Webhooks sender?",
    )


def _v1_entries(value: str, name: str) -> list[str]:
    """The ``v1,<base64>`` entries, each decodable; other versions (``v1a``: asymmetric) are skipped."""
    entries = []
    for entry in value.split():
        version, comma, signature = entry.partition(",")
        if not comma or not version or "," in signature:
            raise Rejected("signature_malformed", f"the {name} header has an entry that is not v1,<base64>")
        if version == "v1":
            decode_signature(signature, "base64", name)
            entries.append(entry)
    if not entries:
        raise Rejected("signature_malformed", f"the {name} header has no v1,<base64> entry")
    return entries


def _matches(webhook: Webhook, text: str, headers: dict[str, str]) -> bool:
    try:
        webhook.verify(text, headers, json_parse=False)
    except WebhookVerificationError:
        return False
    return True
