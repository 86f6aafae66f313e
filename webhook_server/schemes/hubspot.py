"""HubSpot (signature v3): ``X-HubSpot-Signature-v3`` = base64 HMAC-SHA256, keyed with the app's
client secret, of ``POST`` + the URL HubSpot posted to + the body + ``X-HubSpot-Request-Timestamp``
(milliseconds), which must be within 5 minutes.

HubSpot signs the URL with some characters decoded (``%3A`` as ``:``, ``%2F`` as ``/``, … its
"Validating requests" page lists them); the URL as received and that spelling are both tried.
The URL is read as for Twilio (base.RequestUrl: behind a proxy, X-Forwarded-Proto and Host).

A delivery is a JSON array of up to 100 events, stored as ``{"events": [...]}``
(schemes/bodies.py). HubSpot retries a failed batch with ``attemptNumber`` increased, so the body
changes between tries: the id is the hash of the batch's ``subscriptionId:eventId`` pairs, which
do not. The type is the events' ``subscriptionType`` when they share one, else ``batch``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from webhook_server.safe_text import printable
from webhook_server.schemes.base import Rejected, RequestUrl, VerifiedEvent, decode_utf8, parse_json
from webhook_server.schemes.bodies import shared_value, stored_document
from webhook_server.schemes.signing import (
    TimedVerifier,
    decode_signature,
    header,
    require_any_match,
    require_fresh,
    unix_time,
)

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
# The escapes HubSpot decodes in the URL it signs ("Validating requests", signature v3).
DECODED = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip


class HubSpotVerifier(TimedVerifier):
    name = "hubspot"
    variable = "HUBSPOT_CLIENT_SECRET"

    def verify(self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None) -> VerifiedEvent:
        if url is None:
            raise Rejected("url_unknown", "HubSpot signs the URL it posts to, and this request's URL is unknown")
        hint = "; is this request from HubSpot (signature v3)?"
        signed = header(headers, SIGNATURE_HEADER, reason="signature_missing", hint=hint)
        timestamp = header(headers, TIMESTAMP_HEADER, reason="signature_missing", hint=hint)
        require_fresh(unix_time(timestamp, TIMESTAMP_HEADER, milliseconds=True) / 1000, tolerance=self._tolerance)
        signature = decode_signature(signed, "base64", SIGNATURE_HEADER)
        text = decode_utf8(body)
        require_any_match(
            self._keys,
            [f"POST{candidate}{text}{timestamp}".encode() for candidate in _spellings(str(url))],
            signature,
            algorithm="sha256",
            problem=f"the signature of {printable(str(url))[:300]} matches none of the configured secrets; check "
            f"{self._variable} against the app's client secret, and that this is the webhook URL set in HubSpot",
        )
        events = parse_json(text)
        if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
            raise Rejected("body_not_json", "a HubSpot delivery is a JSON array of event objects")
        return VerifiedEvent(_batch_id(events), shared_value(events, "subscriptionType"), text, stored_document(body))


def _spellings(url: str) -> list[str]:
    decoded = url
    for escape, character in DECODED.items():
        decoded = decoded.replace(escape, character).replace(escape.lower(), character)
    return [url] if decoded == url else [url, decoded]


def _batch_id(events: list[dict[str, Any]]) -> str:
    """The same for every try of one batch: its events' subscription and event ids, sorted."""
    keys = sorted(f"{event.get('subscriptionId')}:{event.get('eventId')}" for event in events)
    return "hubspot:" + hashlib.sha256("\n".join(keys).encode()).hexdigest()
