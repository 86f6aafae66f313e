"""WooCommerce's webhooks as a store posts them (X-WC-Webhook-Signature, base64), for `send woocommerce`."""

from __future__ import annotations

import json
import secrets

from webhook_server.dev.signed import JSON, SignedSample, hmac_digest

TYPES = ("order.created", "order.updated", "product.updated", "customer.created")
DEFAULT_TYPE = "order.created"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None


def headers(body: bytes, secret: str, *, delivery: str, topic: str) -> dict[str, str]:
    resource, _, event = topic.partition(".")
    return {
        **JSON,
        "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7)",
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-ID": "12",
        "X-WC-Webhook-Delivery-ID": delivery,
        "X-WC-Webhook-Signature": hmac_digest(secret, body, encoding="base64"),
    }


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    delivery = event_id or secrets.token_hex(16)
    document = {"id": secrets.randbelow(10**5), "status": "processing", "currency": "EUR", "total": "20.00"}
    body = json.dumps(document).encode()
    return SignedSample(delivery, event_type, body, headers(body, secret, delivery=delivery, topic=event_type))
