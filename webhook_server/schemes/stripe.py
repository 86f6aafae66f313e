"""Stripe: ``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.

Verification uses the stripe SDK itself, against every configured secret (two during a
rotation), with an explicit tolerance: the SDK's ``verify_header`` checks no timestamp at
all unless given one, and never rejects timestamps from the future, which we do too. The
header is parsed and checked here first (the shared strict parsers of schemes.signing):
the SDK is not written for hostile input.
"""

from __future__ import annotations

from collections.abc import Mapping

import stripe

from webhook_server.errors import ConfigError
from webhook_server.schemes import signing
from webhook_server.schemes.base import (
    Rejected,
    RequestUrl,
    VerifiedEvent,
    decode_utf8,
    parse_json_object,
    required_identifier,
)
from webhook_server.schemes.signing import TOLERANCE_SECONDS, require_fresh

SIGNATURE_HEADER = "Stripe-Signature"
# The signature scheme Stripe signs live and test events with (v0 entries are ignored).
SCHEME = stripe.WebhookSignature.EXPECTED_SCHEME


def check_secrets(secrets: tuple[str, ...], variable: str) -> None:
    """At start: every secret must be an endpoint signing secret, not an API key pasted by mistake."""
    for secret in secrets:
        if not secret.startswith("whsec_"):
            # Never echo the value: it may be a live API key pasted into the wrong variable.
            raise ConfigError(
                variable,
                f"a value starting with {secret[:3]!r} is not a webhook signing secret; "
                "use the endpoint's secret, which starts with whsec_",
            )


class StripeVerifier:
    name = "stripe"

    def __init__(
        self, secrets: tuple[str, ...], *, variable: str = "STRIPE_WEBHOOK_SECRET", tolerance: float = TOLERANCE_SECONDS
    ) -> None:
        self._secrets = secrets
        self._variable = variable
        self._tolerance = tolerance

    def verify(self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None) -> VerifiedEvent:
        header = signing.header(
            headers, SIGNATURE_HEADER, reason="signature_missing", hint="; is this request from Stripe?"
        )
        signed_at, signatures = _parse(header)
        require_fresh(signed_at, tolerance=self._tolerance)
        text = decode_utf8(body)
        self._verify_signature(text, _canonical(signed_at, signatures))
        document = parse_json_object(text)
        return VerifiedEvent(required_identifier(document, "id"), required_identifier(document, "type"), text)

    def _verify_signature(self, text: str, header: str) -> None:
        # Every secret is tried, so the time taken says nothing about which one matched.
        if not any([_matches(text, header, secret, self._tolerance) for secret in self._secrets]):
            raise Rejected(
                "signature_invalid",
                f"the signature matches none of the configured secrets; check {self._variable} "
                "against this endpoint's signing secret in the Stripe Dashboard",
            )


def _matches(text: str, header: str, secret: str, tolerance: float) -> bool:
    try:
        stripe.WebhookSignature.verify_header(text, header, secret, tolerance=int(tolerance))
    except stripe.SignatureVerificationError:
        return False
    return True


def _parse(header: str) -> tuple[int, list[str]]:
    """The signed time and the ``v1`` signatures (hex), checked here so that the SDK only ever
    sees a well-formed header: it parses ``t`` with ``int()`` (which takes ``٣`` and 320 nines)
    and compares strings that must be ASCII (``v1=é`` raised TypeError in its compare)."""
    timestamps, signatures = [], []
    for item in header.split(","):
        key, equals, value = item.partition("=")
        if not equals:
            raise Rejected("signature_malformed", f"the {SIGNATURE_HEADER} header has an entry that is not key=value")
        if key.strip() == "t":
            timestamps.append(value.strip())
        elif key.strip() == SCHEME:
            signing.decode_signature(value.strip(), "hex", SIGNATURE_HEADER)
            signatures.append(value.strip())
    if len(timestamps) != 1:
        raise Rejected("signature_malformed", f"the {SIGNATURE_HEADER} header needs one t=<unix time> entry")
    if not signatures:
        raise Rejected("signature_malformed", f"the {SIGNATURE_HEADER} header has no {SCHEME}=<hex> entry")
    return signing.unix_time(timestamps[0], SIGNATURE_HEADER), signatures


def _canonical(signed_at: int, signatures: list[str]) -> str:
    """The header as the SDK expects it, rebuilt from the checked parts only."""
    return ",".join([f"t={signed_at}", *(f"{SCHEME}={signature}" for signature in signatures)])
