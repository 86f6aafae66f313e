"""Slack Events API: ``X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<body>">`` with
``X-Slack-Request-Timestamp`` at most 5 minutes off.

Saving the Request URL in Slack sends a signed ``url_verification`` request whose challenge
must be echoed: a Handshake, nothing stored. Events are ``event_callback`` envelopes: the id is
``event_id`` (kept across Slack's retries), the type the inner ``event.type``. Envelopes without
them (``app_rate_limited``) fall back to the body's hash and the outer ``type``.
"""

from __future__ import annotations

from collections.abc import Mapping

from webhook_server.schemes.base import (
    Handshake,
    RequestUrl,
    VerifiedEvent,
    body_digest,
    identifier,
    json_body,
    required_identifier,
)
from webhook_server.schemes.signing import V0Verifier, refuse_form_encoded


class SlackVerifier(V0Verifier):
    name = "slack"
    variable = "SLACK_SIGNING_SECRET"
    signature_header = "X-Slack-Signature"
    timestamp_header = "X-Slack-Request-Timestamp"
    sender = "Slack"
    secret_hint = "the secret the sender signs with"

    def verify(
        self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None
    ) -> VerifiedEvent | Handshake:
        self.signers(headers, body)
        refuse_form_encoded(
            headers,
            "a form-encoded Slack request (slash command or interactivity) reached the Events API "
            "endpoint; only Events API subscriptions are received here",
        )
        text, document = json_body(body)
        if document.get("type") == "url_verification":
            return Handshake({"challenge": required_identifier(document, "challenge")})
        event = document.get("event")
        if isinstance(event, dict) and isinstance(event.get("type"), str) and event["type"]:
            event_type = identifier(event["type"], "the event's 'event.type'", "event_malformed")
        else:
            event_type = required_identifier(document, "type")
        event_id = required_identifier(document, "event_id") if "event_id" in document else body_digest(body)
        return VerifiedEvent(event_id, event_type, text)
