"""Standard Webhooks (Svix and others): ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature``, a space-separated list of ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``
entries, keyed with the base64 part of a ``whsec_`` secret; 5 minutes of tolerance.

Svix, and the senders that deliver through it (Clerk, Resend: named schemes of their own, so
their events are stored under their name), send the same headers named ``svix-id``,
``svix-timestamp`` and ``svix-signature``; a request carries one family or the other, and the
``webhook-*`` one is read when both are there (the svix library reads ``svix-*`` first; a sender
sends one family, so this only decides which of two forgeries is refused).

Asymmetric ``v1a,<base64 Ed25519 signature>`` entries (same signed text) are checked against
the endpoint's ``whpk_<base64>`` public keys: the secret variable may hold ``whsec_`` secrets,
``whpk_`` keys or both (a sender moving from one to the other signs with both), each value
recognised by its prefix as the specification intends. A header's entries of a version the
endpoint holds nothing for are skipped, so a sender may list ``v1`` and ``v1a`` together.

The HMAC is the ``standardwebhooks`` reference implementation's (its ``sign``). Its ``verify``
is not used: its parsing is not ours to rely on for hostile input (an entry without a comma or
with bad base64 raises ValueError, and every failure is one message), and it enforces a fixed
5-minute window of its own, which refused an endpoint's longer ``tolerance`` as a wrong
signature. The headers are checked here, the window is the endpoint's, and the comparison is
constant-time against every ``v1`` entry.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime

from standardwebhooks import Webhook

from webhook_server.errors import ConfigError
from webhook_server.schemes.base import (
    Rejected,
    RequestUrl,
    VerifiedEvent,
    decode_utf8,
    parse_json_object,
    required_identifier,
)
from webhook_server.schemes.keys import (
    PUBLIC_KEY_PREFIX,
    keys_from,
    signature_bytes,
    signed_by_any,
    whpk_key,
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
KEY_DESCRIPTION = "whpk_ followed by the base64 of a 32-byte Ed25519 public key"
# An Ed25519 signature's length: the only one a v1a entry may decode to.
ED25519_SIGNATURE = range(64, 65)


def check_secrets(secrets: tuple[str, ...], variable: str) -> None:
    """At start: keys are the base64 after ``whsec_``; the library would silently drop stray
    characters and verify with a different key, so a typo is caught here instead. A ``whpk_``
    value must be an Ed25519 public key."""
    public, secrets = _split(secrets)
    keys_from(public, variable, whpk_key, KEY_DESCRIPTION)
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
        public, secrets = _split(secrets)
        self._webhooks = tuple(Webhook(secret) for secret in secrets)
        self._keys = keys_from(public, variable, whpk_key, KEY_DESCRIPTION)
        self._variable = variable
        self._tolerance = tolerance

    def verify(self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None) -> VerifiedEvent:
        id_name, timestamp_name, signature_name = _family(headers)
        v1, v1a = self._entries(header(headers, signature_name), signature_name)
        timestamp = header(headers, timestamp_name, reason="signature_missing")
        message_id = identifier_header(headers, id_name)
        signed_at = unix_time(timestamp, timestamp_name)
        require_fresh(signed_at, tolerance=self._tolerance)
        text = decode_utf8(body)
        # Every secret and key is tried, so the time taken says nothing about which one matched.
        matches = [_matches(webhook, message_id, signed_at, text, v1) for webhook in self._webhooks]
        message = b"%s.%s.%s" % (message_id.encode(), timestamp.encode(), body)
        matches.append(signed_by_any(self._keys, message, v1a))
        if not any(matches):
            raise Rejected("signature_invalid", self._mismatch())
        return VerifiedEvent(message_id, required_identifier(parse_json_object(text), "type"), text)

    def _entries(self, value: str, name: str) -> tuple[list[str], list[bytes]]:
        """The ``v1`` entries (as sent) and the ``v1a`` signatures (decoded) this endpoint can
        check; the other versions' entries are skipped, each one well-formed."""
        v1: list[str] = []
        v1a: list[bytes] = []
        for entry in value.split():
            version, comma, signature = entry.partition(",")
            if not comma or not version or "," in signature:
                raise Rejected("signature_malformed", f"the {name} header has an entry that is not v1,<base64>")
            if version == "v1" and self._webhooks:
                decode_signature(signature, "base64", name)
                v1.append(entry)
            elif version == "v1a" and self._keys:
                v1a.append(signature_bytes(signature, "base64", name, ED25519_SIGNATURE))
        if not v1 and not v1a:
            expected = " or ".join(
                form for form, held in (("v1,<base64>", self._webhooks), ("v1a,<base64>", self._keys)) if held
            )
            raise Rejected("signature_malformed", f"the {name} header has no {expected} entry")
        return v1, v1a

    def _mismatch(self) -> str:
        if not self._keys:
            return (
                f"the signature matches none of the configured secrets; check {self._variable} "
                "against the endpoint's signing secret (whsec_…) shown by the sender"
            )
        return (
            f"the signature matches none of the configured secrets or public keys; check {self._variable} "
            "against the endpoint's signing secret (whsec_…) or public key (whpk_…) shown by the sender"
        )


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


def _split(values: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The ``whpk_`` public keys, and the HMAC secrets (every other value)."""
    public = tuple(value for value in values if value.startswith(PUBLIC_KEY_PREFIX))
    return public, tuple(value for value in values if not value.startswith(PUBLIC_KEY_PREFIX))


def _family(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """The header names this request uses: the first family whose signature header it has."""
    for family in FAMILIES:
        if (headers.get(family[2]) or "").strip():
            return family
    raise Rejected(
        "signature_missing",
        f"no {SIGNATURE_HEADER} (nor svix-signature) header; is this request from a Standard Webhooks sender?",
    )


def _matches(webhook: Webhook, message_id: str, signed_at: int, text: str, entries: list[str]) -> bool:
    """Whether ``webhook``'s secret signs to any of the ``v1`` entries, each compared in constant time."""
    expected = webhook.sign(message_id, datetime.fromtimestamp(signed_at, UTC), text).encode()
    return any([hmac.compare_digest(expected, entry.encode()) for entry in entries])
