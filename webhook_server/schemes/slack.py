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
from webhook_server.schemes.signing import (
    TOLERANCE_SECONDS,
    decode_signature,
    header,
    refuse_form_encoded,
    require_fresh,
    require_match,
    unix_time,
    utf8_keys,
    without_prefix,
)

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"


class SlackVerifier:
    name = "slack"

    def __init__(
        self, secrets: tuple[str, ...], *, variable: str = "SLACK_SIGNING_SECRET", tolerance: float = TOLERANCE_SECONDS
    ) -> None:
        self._keys = utf8_keys(secrets)
        self._variable = variable
        self._tolerance = tolerance

    def verify(
        self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None
    ) -> VerifiedEvent | Handshake:
        hint = "; is this request from Slack?"
        signed = header(headers, SIGNATURE_HEADER, reason="signature_missing", hint=hint)
        timestamp = header(headers, TIMESTAMP_HEADER, reason="signature_missing", hint=hint)
        require_fresh(unix_time(timestamp, TIMESTAMP_HEADER), tolerance=self._tolerance)
        signature = decode_signature(without_prefix(signed, "v0=", SIGNATURE_HEADER), "hex", SIGNATURE_HEADER)
        require_match(self._keys, b"v0:%s:%s" % (timestamp.encode(), body), signature, variable=self._variable)
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
