"""Shopify: ``X-Shopify-Hmac-Sha256`` = base64 HMAC-SHA256 of the body, keyed with the app's
client secret; no timestamp. ``X-Shopify-Webhook-Id`` is kept across retries (the event id),
``X-Shopify-Topic`` is the type (``orders/create``).
"""

from __future__ import annotations

from collections.abc import Mapping

from webhook_server.providers.base import VerifiedEvent, json_body
from webhook_server.providers.signing import decode_signature, header, identifier_header, require_match, utf8_keys

SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"


class ShopifyProvider:
    name = "shopify"

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self._keys = utf8_keys(secrets)

    def verify(self, body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        signed = header(headers, SIGNATURE_HEADER, reason="signature_missing", hint="; is this request from Shopify?")
        signature = decode_signature(signed, "base64", SIGNATURE_HEADER)
        require_match(self._keys, body, signature, variable="SHOPIFY_WEBHOOK_SECRET")
        webhook_id = identifier_header(headers, "X-Shopify-Webhook-Id")
        topic = identifier_header(headers, "X-Shopify-Topic")
        text, _ = json_body(body)
        return VerifiedEvent(webhook_id, topic, text)
