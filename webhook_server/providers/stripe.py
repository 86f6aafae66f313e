"""Stripe: ``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.

Verification uses the stripe SDK itself, against every configured secret (two during a
rotation), with an explicit tolerance: the SDK's ``verify_header`` checks no timestamp at
all unless given one, and never rejects timestamps from the future, which we do too.
"""

from __future__ import annotations

from collections.abc import Mapping

import stripe

from webhook_server.errors import ConfigError
from webhook_server.providers import signing
from webhook_server.providers.base import (
    Rejected,
    VerifiedEvent,
    decode_utf8,
    parse_json_object,
    required_identifier,
)
from webhook_server.providers.signing import TOLERANCE_SECONDS, require_fresh

SIGNATURE_HEADER = "Stripe-Signature"


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


class StripeProvider:
    name = "stripe"

    def __init__(self, secrets: tuple[str, ...], *, variable: str = "STRIPE_WEBHOOK_SECRET") -> None:
        self._secrets = secrets
        self._variable = variable

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        header = signing.header(
            headers, SIGNATURE_HEADER, reason="signature_missing", hint="; is this request from Stripe?"
        )
        text = decode_utf8(body)
        self._verify_signature(text, header)
        document = parse_json_object(text)
        return VerifiedEvent(required_identifier(document, "id"), required_identifier(document, "type"), text)

    def _verify_signature(self, text: str, header: str) -> None:
        require_fresh(_signed_at(header))
        for secret in self._secrets:
            try:
                stripe.WebhookSignature.verify_header(text, header, secret, tolerance=TOLERANCE_SECONDS)
                return
            except stripe.SignatureVerificationError:
                continue
        raise Rejected(
            "signature_invalid",
            f"the signature matches none of the configured secrets; check {self._variable} "
            "against this endpoint's signing secret in the Stripe Dashboard",
        )


def _signed_at(header: str) -> int:
    for item in header.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t":
            try:
                return int(value)
            except ValueError:
                break
    raise Rejected("signature_malformed", f"the {SIGNATURE_HEADER} header has no t=<unix time> entry")
