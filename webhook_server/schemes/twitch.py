"""Twitch EventSub over webhooks: ``Twitch-Eventsub-Message-Signature: sha256=<hex HMAC-SHA256 of
id + timestamp + body>``, keyed with the subscription's secret; the timestamp (RFC 3339, with
nanoseconds) within 10 minutes, as Twitch documents.

Creating a subscription sends a ``webhook_callback_verification`` message: answered with its
``challenge`` as plain text, nothing stored. A notification's id is
``Twitch-Eventsub-Message-Id`` (kept across Twitch's retries), its type the subscription's
(``channel.follow``); a ``revocation`` is stored as ``<subscription type>.revocation``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from webhook_server.schemes.base import (
    Handshake,
    Rejected,
    RequestUrl,
    VerifiedEvent,
    json_body,
    required_identifier,
)
from webhook_server.schemes.signing import (
    TimedVerifier,
    decode_signature,
    header,
    identifier_header,
    require_any_match,
    require_fresh,
    without_prefix,
)

SIGNATURE_HEADER = "Twitch-Eventsub-Message-Signature"
ID_HEADER = "Twitch-Eventsub-Message-Id"
TIMESTAMP_HEADER = "Twitch-Eventsub-Message-Timestamp"
TYPE_HEADER = "Twitch-Eventsub-Message-Type"
SUBSCRIPTION_HEADER = "Twitch-Eventsub-Subscription-Type"
# Twitch's documented window.
TOLERANCE_SECONDS = 600
RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z")


class TwitchVerifier(TimedVerifier):
    name = "twitch"
    variable = "TWITCH_EVENTSUB_SECRET"
    tolerance = TOLERANCE_SECONDS

    def verify(
        self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None
    ) -> VerifiedEvent | Handshake:
        hint = "; is this request from Twitch EventSub?"
        signed = header(headers, SIGNATURE_HEADER, reason="signature_missing", hint=hint)
        message_id = identifier_header(headers, ID_HEADER)
        timestamp = header(headers, TIMESTAMP_HEADER, reason="signature_missing", hint=hint)
        require_fresh(_seconds(timestamp), tolerance=self._tolerance)
        require_any_match(
            self._keys,
            [message_id.encode() + timestamp.encode() + body],
            decode_signature(without_prefix(signed, "sha256=", SIGNATURE_HEADER), "hex", SIGNATURE_HEADER),
            algorithm="sha256",
            problem=f"the signature matches none of the configured secrets; check {self._variable} against the "
            "secret the subscription was created with",
        )
        text, document = json_body(body)
        kind = headers.get(TYPE_HEADER)
        if kind == "webhook_callback_verification":
            return Handshake(required_identifier(document, "challenge"))
        subscription = identifier_header(headers, SUBSCRIPTION_HEADER)
        event_type = f"{subscription}.revocation" if kind == "revocation" else subscription
        return VerifiedEvent(message_id, event_type, text)


def _seconds(value: str) -> float:
    """An RFC 3339 UTC time as Twitch writes it (``2023-07-19T10:11:12.123456789Z``)."""
    match = RFC3339.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        whole = datetime.fromisoformat(match.group(1) + "+00:00")
    except ValueError:
        raise Rejected("signature_malformed", f"the {TIMESTAMP_HEADER} header is not an RFC 3339 UTC time") from None
    return whole.timestamp() + float("0." + (match.group(2) or "0"))
