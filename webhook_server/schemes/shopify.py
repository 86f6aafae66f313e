"""Shopify: ``X-Shopify-Hmac-Sha256`` = base64 HMAC-SHA256 of the body, keyed with the app's
client secret; no timestamp. ``X-Shopify-Topic`` is the type (``orders/create``).

The event id is ``X-Shopify-Event-Id``: Shopify's "Ignore duplicate webhooks" page
(https://shopify.dev/docs/apps/build/webhooks/ignore-duplicates) names it as the header whose
same value across more than one webhook indicates a duplicate (also when two subscriptions to
one topic deliver the same event). ``X-Shopify-Webhook-Id`` is only the fallback for a delivery
without it; both are stored in the ``headers`` column.
"""

from __future__ import annotations

from collections.abc import Mapping

from webhook_server.schemes.base import RequestUrl, VerifiedEvent, json_body
from webhook_server.schemes.signing import SecretVerifier, decode_signature, header, identifier_header, require_match

SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
EVENT_ID_HEADER = "X-Shopify-Event-Id"


class ShopifyVerifier(SecretVerifier):
    name = "shopify"
    variable = "SHOPIFY_WEBHOOK_SECRET"

    def verify(self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None) -> VerifiedEvent:
        signed = header(headers, SIGNATURE_HEADER, reason="signature_missing", hint="; is this request from Shopify?")
        signature = decode_signature(signed, "base64", SIGNATURE_HEADER)
        require_match(self._keys, body, signature, variable=self._variable)
        event_id = identifier_header(
            headers, EVENT_ID_HEADER if headers.get(EVENT_ID_HEADER) else "X-Shopify-Webhook-Id"
        )
        topic = identifier_header(headers, "X-Shopify-Topic")
        text, _ = json_body(body)
        return VerifiedEvent(event_id, topic, text)
