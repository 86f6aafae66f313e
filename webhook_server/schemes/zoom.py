"""Zoom: ``x-zm-signature: v0=<hex HMAC-SHA256 of "v0:<x-zm-request-timestamp>:<body>">``, keyed
with the app's Secret Token, the timestamp within 5 minutes.

Saving the endpoint URL (and every 72 hours after) Zoom sends a signed ``endpoint.url_validation``
event: answered with its ``plainToken`` and ``encryptedToken`` (hex HMAC-SHA256 of the plain
token with the same secret), nothing stored. Events carry no id: the body's hash is one (a retry
resends the same body); the type is the body's ``event`` (``meeting.started``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from webhook_server.schemes.base import (
    Handshake,
    Rejected,
    RequestUrl,
    VerifiedEvent,
    body_digest,
    json_body,
    required_identifier,
)
from webhook_server.schemes.signing import (
    TOLERANCE_SECONDS,
    decode_signature,
    hmac_matches,
    require_fresh,
    signature_and_timestamp,
    unix_time,
    utf8_keys,
    without_prefix,
)

SIGNATURE_HEADER = "x-zm-signature"
TIMESTAMP_HEADER = "x-zm-request-timestamp"
VALIDATION = "endpoint.url_validation"


class ZoomVerifier:
    name = "zoom"

    def __init__(
        self, secrets: tuple[str, ...], *, variable: str = "ZOOM_SECRET_TOKEN", tolerance: float = TOLERANCE_SECONDS
    ) -> None:
        self._keys = utf8_keys(secrets)
        self._variable = variable
        self._tolerance = tolerance

    def verify(
        self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None
    ) -> VerifiedEvent | Handshake:
        signed, timestamp = signature_and_timestamp(headers, SIGNATURE_HEADER, TIMESTAMP_HEADER, "Zoom")
        require_fresh(unix_time(timestamp, TIMESTAMP_HEADER), tolerance=self._tolerance)
        signature = decode_signature(without_prefix(signed, "v0=", SIGNATURE_HEADER), "hex", SIGNATURE_HEADER)
        message = b"v0:%s:%s" % (timestamp.encode(), body)
        # Every secret is tried; the one that signed answers a validation.
        signers = [key for key in self._keys if hmac_matches((key,), [message], signature, algorithm="sha256")]
        if not signers:
            raise Rejected(
                "signature_invalid",
                f"the signature matches none of the configured secrets; check {self._variable} against the app's "
                "Secret Token (Zoom App Marketplace, Features → Access)",
            )
        text, document = json_body(body)
        event_type = required_identifier(document, "event")
        if event_type == VALIDATION:
            payload = document.get("payload")
            plain = required_identifier(payload if isinstance(payload, dict) else {}, "plainToken")
            encrypted = hmac.new(signers[0], plain.encode(), hashlib.sha256).hexdigest()
            return Handshake({"plainToken": plain, "encryptedToken": encrypted})
        return VerifiedEvent(body_digest(body), event_type, text)
