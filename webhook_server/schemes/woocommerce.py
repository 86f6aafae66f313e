"""WooCommerce: ``X-WC-Webhook-Signature`` = base64 HMAC-SHA256 of the body, keyed with the
webhook's secret; no timestamp. Saving a webhook sends a ping, the form ``webhook_id=<n>``:
answered 200, nothing stored. The id is ``X-WC-Webhook-Delivery-ID``, the type
``X-WC-Webhook-Topic`` (``order.created``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from webhook_server.schemes.base import Handshake
from webhook_server.schemes.body_hmac import BodyHmacVerifier, Signature
from webhook_server.schemes.signing import identifier_header

PING = re.compile(rb"webhook_id=\d{1,20}")


class WooCommerceVerifier(BodyHmacVerifier):
    name = "woocommerce"
    variable = "WOOCOMMERCE_WEBHOOK_SECRET"
    signature = Signature("X-WC-Webhook-Signature", encoding="base64")

    def handshake(self, body: bytes, headers: Mapping[str, str]) -> Handshake | None:
        return Handshake({"received": True}) if PING.fullmatch(body) else None

    def identify(self, document: dict[str, Any], headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
        return identifier_header(headers, "X-WC-Webhook-Delivery-ID"), identifier_header(headers, "X-WC-Webhook-Topic")
