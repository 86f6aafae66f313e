"""Realistic sample events, signed the way each sender signs them, for `send`, tests and benchmarks.

The ``*_headers`` functions are the one place deliveries get signed (tests reach them through
tests/signers.py): with the sender's SDK where it can (stripe), else by the sender's documented HMAC recipe.
They never use the server's verification code, so a mistake there cannot hide by being made twice.
"""

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
    """The body and headers of a delivery of ``event``, as Stripe formats and signs it."""
    body = json.dumps(event, indent=2).encode("utf-8")
    return body, stripe_headers(body, secret, timestamp=timestamp)


def stripe_headers(body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    """``Stripe-Signature`` made by the stripe SDK's own helper (it signs text: see ``_text``)."""
    header = stripe.WebhookSignature.generate_signature_header(_text(body), secret, timestamp=timestamp)
    return {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": header}


def github_headers(body: bytes, secret: str, *, delivery: str, event: str) -> dict[str, str]:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`` and the identity headers."""
    return {
        **JSON,
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Event": event,
        "X-Hub-Signature-256": "sha256=" + hmac_signature(secret, body, "sha256", "hex"),
    }


def shopify_headers(body: bytes, secret: str, *, webhook_id: str, topic: str) -> dict[str, str]:
    """``X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`` and the identity headers."""
    return {
        **JSON,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": hmac_signature(secret, body, "sha256", "base64"),
    }


def slack_headers(body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    """``X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<timestamp>:<body>")>`` and its timestamp."""
    stamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac_signature(secret, b"v0:%d:%s" % (stamp, body), "sha256", "hex")
    return {**JSON, "X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": f"v0={signature}"}


def standard_headers(body: bytes, secret: str, *, message_id: str, timestamp: int | None = None) -> dict[str, str]:
    """``webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>``, ``secret`` being
    the ``whsec_<base64 key>`` the sender shows. By the specification's recipe rather than the
    reference library, whose ``sign`` takes a datetime: tests sign timestamps no datetime holds."""
    stamp = int(time.time()) if timestamp is None else timestamp
    key = base64.b64decode(secret.removeprefix("whsec_") + "==")
    signature = hmac_signature(key, b"%s.%d.%s" % (message_id.encode(), stamp, body), "sha256", "base64")
    return {**JSON, "webhook-id": message_id, "webhook-timestamp": str(stamp), "webhook-signature": f"v1,{signature}"}


def hmac_signature(secret: str | bytes, message: bytes, algorithm: str, encoding: str) -> str:
    """HMAC(secret, message) in hex or base64: the recipe of the senders that publish no signer."""
    digest = hmac.new(secret.encode() if isinstance(secret, str) else secret, message, algorithm).digest()
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()


def _text(body: bytes) -> str:
    """Stripe's SDK signs text. A body that is not UTF-8 (only hostile tests send one) is signed as its
    replacement-decoded text: the server refuses it as body_not_utf8 before any signature check."""
    return body.decode("utf-8", "replace")


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
    headers = github_headers(body, secret, delivery=delivery, event=event_type)
    headers.update({"User-Agent": "GitHub-Hookshot/044aadd", "X-GitHub-Hook-ID": "292430182"})
    return SignedSample(delivery, event_type, body, headers)


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
    headers = shopify_headers(body, secret, webhook_id=webhook_id, topic=event_type)
    headers.update(
        {
            "X-Shopify-Shop-Domain": "example.myshopify.com",
            "X-Shopify-Api-Version": "2025-10",
            "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
        }
    )
    return SignedSample(webhook_id, event_type, body, headers)


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
    return SignedSample(event_id, event_type, body, slack_headers(body, secret, timestamp=now))


def _standard(secret: str, event_type: str, event_id: str | None) -> SignedSample:
    message_id = event_id or f"msg_{secrets.token_hex(12)}"
    now = datetime.now(UTC)
    body = _json({"type": event_type, "timestamp": now.isoformat(), "data": {"id": f"inv_{secrets.token_hex(8)}"}})
    headers = standard_headers(body, secret, message_id=message_id, timestamp=int(now.timestamp()))
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
    headers[spec.header] = spec.prefix + hmac_signature(secret, body, spec.algorithm, spec.encoding)
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
