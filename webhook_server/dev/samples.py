"""Realistic sample events, signed the way each sender signs them, for `send`, tests and benchmarks."""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import stripe
from standardwebhooks import Webhook

from webhook_server.providers.base import body_digest

if TYPE_CHECKING:
    from webhook_server.endpoints_file import EndpointSpec, Source

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


@dataclass(frozen=True)
class SignedSample:
    """One delivery as its sender would post it."""

    event_id: str
    event_type: str
    body: bytes
    headers: dict[str, str]


# Each built-in sender's default event type in `send`.
DEFAULT_TYPES = {
    "stripe": "payment_intent.succeeded",
    "github": "issues",
    "shopify": "orders/create",
    "slack": "app_mention",
    "standard": "invoice.paid",
}
JSON = {"Content-Type": "application/json"}


def signed_sample(provider: str, secret: str, event_type: str, event_id: str | None = None) -> SignedSample:
    """A realistic delivery of a built-in provider, signed the way that sender signs."""
    return _SIGNERS[provider](secret, event_type, event_id)


def _stripe(secret: str, event_type: str, event_id: str | None) -> SignedSample:
    event = stripe_event(event_type, event_id=event_id)
    body, headers = signed_stripe_request(event, secret)
    return SignedSample(event["id"], event_type, body, headers)


def _github(secret: str, event_type: str, event_id: str | None) -> SignedSample:
    delivery = event_id or str(uuid.uuid4())
    body = _json(
        {
            "action": "opened",
            "issue": {"number": 1347, "title": "Found a bug", "state": "open", "user": {"login": "octocat"}},
            "repository": {"id": 1296269, "full_name": "octocat/Hello-World"},
            "sender": {"login": "octocat", "id": 1},
        }
    )
    signature = _hmac(secret.encode(), body, "sha256", "hex")
    return SignedSample(
        delivery,
        event_type,
        body,
        {
            **JSON,
            "User-Agent": "GitHub-Hookshot/044aadd",
            "X-GitHub-Delivery": delivery,
            "X-GitHub-Event": event_type,
            "X-GitHub-Hook-ID": "292430182",
            "X-Hub-Signature-256": f"sha256={signature}",
        },
    )


def _shopify(secret: str, event_type: str, event_id: str | None) -> SignedSample:
    webhook_id = event_id or str(uuid.uuid4())
    order_id = secrets.randbelow(10**15)
    body = _json(
        {
            "id": order_id,
            "email": "jon@example.com",
            "currency": "USD",
            "total_price": "20.00",
            "financial_status": "paid",
            "line_items": [{"id": order_id + 1, "title": "webhook-server sample", "quantity": 1, "price": "20.00"}],
        }
    )
    return SignedSample(
        webhook_id,
        event_type,
        body,
        {
            **JSON,
            "X-Shopify-Topic": event_type,
            "X-Shopify-Hmac-Sha256": _hmac(secret.encode(), body, "sha256", "base64"),
            "X-Shopify-Shop-Domain": "example.myshopify.com",
            "X-Shopify-Api-Version": "2025-10",
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
        },
    )


def _slack(secret: str, event_type: str, event_id: str | None) -> SignedSample:
    event_id = event_id or f"Ev{secrets.token_hex(5).upper()}"
    now = int(time.time())
    body = _json(
        {
            "token": "verification-token-unused",
            "team_id": "T061EG9RZ",
            "api_app_id": "A0MDYCDME",
            "event": {"type": event_type, "user": "U061F7AUR", "text": "<@U0LAN0Z89> hello", "ts": f"{now}.000200"},
            "type": "event_callback",
            "event_id": event_id,
            "event_time": now,
        }
    )
    signature = _hmac(secret.encode(), b"v0:%d:%s" % (now, body), "sha256", "hex")
    headers = {**JSON, "X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": f"v0={signature}"}
    return SignedSample(event_id, event_type, body, headers)


def _standard(secret: str, event_type: str, event_id: str | None) -> SignedSample:
    """Signed with the scheme's reference implementation, as Svix's own libraries do."""
    message_id = event_id or f"msg_{secrets.token_hex(12)}"
    now = datetime.now(UTC)
    body = _json({"type": event_type, "timestamp": now.isoformat(), "data": {"id": f"inv_{secrets.token_hex(8)}"}})
    signature = Webhook(secret).sign(message_id, now, body.decode())
    headers = {
        **JSON,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return SignedSample(message_id, event_type, body, headers)


_SIGNERS = {"stripe": _stripe, "github": _github, "shopify": _shopify, "slack": _slack, "standard": _standard}


def signed_generic_sample(spec: EndpointSpec, secret: str, event_type: str, event_id: str | None) -> SignedSample:
    """A delivery to a generic endpoint, with its id and type everywhere the endpoint reads them."""
    event_id = event_id or f"evt_{secrets.token_hex(12)}"
    document: dict[str, Any] = {"data": {"amount": 2000, "currency": "usd"}}
    headers = dict(JSON)
    for sources, value in ((spec.event_id, event_id), (spec.event_type, event_type)):
        for source in sources or ():
            _place(source, value, headers, document)
    body = _json(document)
    signature = _hmac(secret.encode(), body, spec.algorithm, spec.encoding)
    headers[spec.header] = f"{spec.prefix}{signature}"
    stored_id = event_id if spec.event_id else body_digest(body)
    return SignedSample(stored_id, event_type if spec.event_type else spec.name, body, headers)


def _place(source: Source, value: str, headers: dict[str, str], document: dict[str, Any]) -> None:
    """Put ``value`` where ``source`` reads it: a header, or a dotted path in the body."""
    if source.kind == "header":
        headers[source.location] = value
        return
    *parents, leaf = source.location.split(".")
    node = document
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2).encode("utf-8")


def _hmac(key: bytes, message: bytes, algorithm: str, encoding: str) -> str:
    digest = hmac.new(key, message, algorithm).digest()
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
