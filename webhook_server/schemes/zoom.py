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
    RequestUrl,
    VerifiedEvent,
    body_digest,
    json_body,
    required_identifier,
)
from webhook_server.schemes.signing import V0Verifier

VALIDATION = "endpoint.url_validation"


class ZoomVerifier(V0Verifier):
    name = "zoom"
    variable = "ZOOM_SECRET_TOKEN"
    signature_header = "x-zm-signature"
    timestamp_header = "x-zm-request-timestamp"
    sender = "Zoom"
    secret_hint = "the app's Secret Token (Zoom App Marketplace, Features → Access)"

    def verify(
        self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None
    ) -> VerifiedEvent | Handshake:
        # Every secret is tried; the one that signed answers a validation.
        signers = self.signers(headers, body)
        text, document = json_body(body)
        event_type = required_identifier(document, "event")
        if event_type == VALIDATION:
            payload = document.get("payload")
            plain = required_identifier(payload if isinstance(payload, dict) else {}, "plainToken")
            encrypted = hmac.new(signers[0], plain.encode(), hashlib.sha256).hexdigest()
            return Handshake({"plainToken": plain, "encryptedToken": encrypted})
        return VerifiedEvent(body_digest(body), event_type, text)
