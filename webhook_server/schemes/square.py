"""Square: ``x-square-hmacsha256-signature`` = base64 HMAC-SHA256, keyed with the subscription's
signature key, of the notification URL followed by the body (as squareup's
``verify_signature`` computes it). The URL is the one Square posted to, read as for Twilio
(base.RequestUrl: behind a proxy, X-Forwarded-Proto and the Host as sent), and must be the
notification URL exactly as entered in the Developer Console.

The event id is the body's ``event_id`` (kept across Square's retries), the type its ``type``
(``payment.updated``). No timestamp is signed, so no replay window; a replay is a duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping

from webhook_server.safe_text import printable
from webhook_server.schemes.base import Rejected, RequestUrl, VerifiedEvent, json_body, required_identifier
from webhook_server.schemes.signing import SecretVerifier, decode_signature, header, require_any_match

SIGNATURE_HEADER = "x-square-hmacsha256-signature"


class SquareVerifier(SecretVerifier):
    name = "square"
    variable = "SQUARE_SIGNATURE_KEY"

    def verify(self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None) -> VerifiedEvent:
        if url is None:
            raise Rejected("url_unknown", "Square signs the URL it posts to, and this request's URL is unknown")
        signed = header(headers, SIGNATURE_HEADER, reason="signature_missing", hint="; is this request from Square?")
        require_any_match(
            self._keys,
            [str(url).encode() + body],
            decode_signature(signed, "base64", SIGNATURE_HEADER),
            algorithm="sha256",
            problem=f"the signature of {printable(str(url))[:300]} matches none of the configured keys; check "
            f"{self._variable} against the subscription's signature key, and that this is its notification URL",
        )
        text, document = json_body(body)
        return VerifiedEvent(required_identifier(document, "event_id"), required_identifier(document, "type"), text)
