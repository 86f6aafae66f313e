"""Realistic sample events, signed the way each sender signs them, for `send`, tests and benchmarks."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import stripe

API_VERSION = "2025-10-29.clover"


def stripe_event(event_type: str = "payment_intent.succeeded", *, event_id: str | None = None) -> dict[str, Any]:
    """An event shaped like the ones Stripe delivers (a payment intent as its object)."""
    created = int(time.time())
    return {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "type": event_type,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": f"req_{secrets.token_hex(7)}", "idempotency_key": secrets.token_hex(16)},
        "data": {
            "object": {
                "id": f"pi_{secrets.token_hex(12)}",
                "object": "payment_intent",
                "amount": 2000,
                "amount_received": 2000,
                "currency": "usd",
                "customer": f"cus_{secrets.token_hex(7)}",
                "description": "webhook-server sample",
                "metadata": {"order_id": str(created)},
                "payment_method_types": ["card"],
                "status": "succeeded",
                "created": created,
                "livemode": False,
            }
        },
    }


def signed_stripe_request(
    event: dict[str, Any], secret: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a delivery, signed with the stripe SDK's own helper."""
    body = json.dumps(event, indent=2)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return body.encode("utf-8"), {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": header}
