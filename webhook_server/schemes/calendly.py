"""Calendly: ``Calendly-Webhook-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``,
keyed with the webhook subscription's signing key; the time within 3 minutes, as Calendly's
guide suggests. Its events carry no id: the body's hash is one; the type is the body's
``event`` (``invitee.created``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webhook_server.schemes.base import Rejected, body_digest, required_identifier
from webhook_server.schemes.body_hmac import BodyHmacVerifier, Signature
from webhook_server.schemes.signing import require_fresh, unix_time


class CalendlyVerifier(BodyHmacVerifier):
    name = "calendly"
    variable = "CALENDLY_WEBHOOK_SIGNING_KEY"
    signature = Signature("Calendly-Webhook-Signature")
    tolerance = 180

    def signature_value(self, value: str) -> str:
        return _parts(value)[1]

    def signed(self, body: bytes, headers: Mapping[str, str], value: str) -> bytes:
        timestamp = _parts(value)[0]
        require_fresh(unix_time(timestamp, self.signature.header), tolerance=self._tolerance)
        return timestamp.encode() + b"." + body

    def identify(self, document: dict[str, Any], headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
        return body_digest(body), required_identifier(document, "event")


def _parts(value: str) -> tuple[str, str]:
    """``t`` and ``v1``, each once, nothing else."""
    fields = dict(item.partition("=")[::2] for item in value.split(","))
    if set(fields) != {"t", "v1"} or value.count(",") != 1:
        raise Rejected("signature_malformed", "the Calendly-Webhook-Signature header is not t=<time>,v1=<hex>")
    return fields["t"], fields["v1"]
