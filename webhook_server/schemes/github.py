"""GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``, no timestamp.

The delivery's GUID (``X-GitHub-Delivery``) stays the same when a delivery is redelivered,
so it is the event id; ``X-GitHub-Event`` is the type (``ping`` when a hook is created).
"""

from __future__ import annotations

from collections.abc import Mapping

from webhook_server.schemes.base import RequestUrl, VerifiedEvent, json_body
from webhook_server.schemes.signing import (
    SecretVerifier,
    decode_signature,
    header,
    identifier_header,
    refuse_form_encoded,
    require_match,
    without_prefix,
)

SIGNATURE_HEADER = "X-Hub-Signature-256"


class GitHubVerifier(SecretVerifier):
    name = "github"
    variable = "GITHUB_WEBHOOK_SECRET"

    def verify(self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None) -> VerifiedEvent:
        signed = header(
            headers,
            SIGNATURE_HEADER,
            reason="signature_missing",
            hint="; give the GitHub webhook a secret (GitHub signs only when it has one)",
        )
        signature = decode_signature(without_prefix(signed, "sha256=", SIGNATURE_HEADER), "hex", SIGNATURE_HEADER)
        require_match(self._keys, body, signature, variable=self._variable)
        delivery = identifier_header(headers, "X-GitHub-Delivery")
        event_type = identifier_header(headers, "X-GitHub-Event")
        refuse_form_encoded(
            headers, "GitHub sent this delivery form-encoded; set the webhook's Content type to application/json"
        )
        text, _ = json_body(body)
        return VerifiedEvent(delivery, event_type, text)
