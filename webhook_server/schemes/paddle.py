"""Paddle Billing: ``Paddle-Signature: ts=<unix time>;h1=<hex HMAC-SHA256 of "<ts>:<body>">``,
keyed with the notification destination's secret key (``pdl_ntfset_…``); several ``h1`` during
a rotation. Paddle's SDK allows 5 seconds between the signature and its check, and so does this
scheme: Paddle signs every retry anew, so a delivery refused as late is retried, not lost.

The event id is the body's ``event_id`` (``evt_…``), the type its ``event_type``
(``transaction.completed``).
"""

from __future__ import annotations

from collections.abc import Mapping

from webhook_server.schemes.base import Rejected, RequestUrl, VerifiedEvent, json_body, required_identifier
from webhook_server.schemes.signing import (
    TimedVerifier,
    decode_signature,
    header,
    hmac_matches,
    require_fresh,
    unix_time,
)

SIGNATURE_HEADER = "Paddle-Signature"
# Paddle's documented window (its SDKs' maximum_variance).
TOLERANCE_SECONDS = 5


class PaddleVerifier(TimedVerifier):
    name = "paddle"
    variable = "PADDLE_WEBHOOK_SECRET"
    tolerance = TOLERANCE_SECONDS

    def verify(self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None) -> VerifiedEvent:
        signed = header(headers, SIGNATURE_HEADER, reason="signature_missing", hint="; is this request from Paddle?")
        timestamp, signatures = _parse(signed)
        require_fresh(unix_time(timestamp, SIGNATURE_HEADER), tolerance=self._tolerance)
        message = timestamp.encode() + b":" + body
        # Each h1 against every secret, all of them tried; any one match is enough.
        if not any([hmac_matches(self._keys, [message], signature, algorithm="sha256") for signature in signatures]):
            raise Rejected(
                "signature_invalid",
                f"the signature matches none of the configured secrets; check {self._variable} against the "
                "notification destination's secret key in Paddle",
            )
        text, document = json_body(body)
        return VerifiedEvent(
            required_identifier(document, "event_id"), required_identifier(document, "event_type"), text
        )


def _parse(value: str) -> tuple[str, list[bytes]]:
    """``ts`` once and at least one ``h1``, each a SHA-256 digest in hex; nothing else."""
    timestamps, signatures = [], []
    for item in value.split(";"):
        key, equals, part = item.partition("=")
        if not equals or key not in ("ts", "h1"):
            raise Rejected("signature_malformed", f"the {SIGNATURE_HEADER} header has an entry that is not ts= or h1=")
        if key == "ts":
            timestamps.append(part)
        else:
            signatures.append(decode_signature(part, "hex", SIGNATURE_HEADER))
    if len(timestamps) != 1 or not signatures:
        raise Rejected("signature_malformed", f"the {SIGNATURE_HEADER} header needs one ts= and an h1=")
    return timestamps[0], signatures
