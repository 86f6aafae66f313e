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
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import stripe
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from webhook_server.dev.senders import (
    adyen,
    bitbucket,
    calendly,
    clerk,
    discord,
    gitlab,
    hubspot,
    intercom,
    jira,
    linear,
    mailgun,
    paddle,
    resend,
    sendgrid,
    square,
    twilio,
    twitch,
    typeform,
    woocommerce,
    zendesk,
    zoom,
)
from webhook_server.dev.signed import JSON, SignedSample
from webhook_server.endpoints_file import EndpointSpec
from webhook_server.schemes.base import body_digest
from webhook_server.schemes.generic import Source

API_VERSION = "2025-10-29.clover"
T = TypeVar("T")


def stripe_event(event_type: str = "payment_intent.succeeded", *, event_id: str | None = None) -> dict[str, Any]:
    """An event shaped like the ones Stripe delivers, its object the one its type is about:
    an invoice for ``invoice.*``, a customer for ``customer.*``, … (see STRIPE_OBJECTS)."""
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
        "data": {"object": _stripe_object(event_type, created)},
    }


def _stripe_object(event_type: str, created: int) -> dict[str, Any]:
    build = _by_prefix(STRIPE_OBJECTS, event_type) or _payment_intent
    return build(created) | STRIPE_STATES.get(event_type, {}) | {"created": created, "livemode": False}


def _payment_intent(created: int) -> dict[str, Any]:
    return {
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
    }


def _invoice(created: int) -> dict[str, Any]:
    return {
        "id": f"in_{secrets.token_hex(12)}",
        "object": "invoice",
        "amount_due": 2000,
        "amount_paid": 2000,
        "amount_remaining": 0,
        "currency": "usd",
        "customer": f"cus_{secrets.token_hex(7)}",
        "number": f"WHS-{created % 100000:05d}",
        "status": "paid",
        "subscription": f"sub_{secrets.token_hex(12)}",
        "lines": {"object": "list", "data": [{"amount": 2000, "description": "1 x Sample plan"}], "has_more": False},
    }


def _customer(created: int) -> dict[str, Any]:
    return {
        "id": f"cus_{secrets.token_hex(7)}",
        "object": "customer",
        "email": "jenny.rosen@example.com",
        "name": "Jenny Rosen",
        "currency": "usd",
        "metadata": {},
    }


def _subscription(created: int) -> dict[str, Any]:
    return {
        "id": f"sub_{secrets.token_hex(12)}",
        "object": "subscription",
        "customer": f"cus_{secrets.token_hex(7)}",
        "status": "active",
        "currency": "usd",
        "cancel_at_period_end": False,
        "items": {"object": "list", "data": [{"price": {"id": f"price_{secrets.token_hex(12)}", "unit_amount": 2000}}]},
    }


def _charge(created: int) -> dict[str, Any]:
    return {
        "id": f"ch_{secrets.token_hex(12)}",
        "object": "charge",
        "amount": 2000,
        "amount_refunded": 0,
        "currency": "usd",
        "customer": f"cus_{secrets.token_hex(7)}",
        "payment_intent": f"pi_{secrets.token_hex(12)}",
        "paid": True,
        "status": "succeeded",
    }


def _checkout_session(created: int) -> dict[str, Any]:
    return {
        "id": f"cs_test_{secrets.token_hex(16)}",
        "object": "checkout.session",
        "amount_total": 2000,
        "currency": "usd",
        "customer": f"cus_{secrets.token_hex(7)}",
        "mode": "payment",
        "payment_intent": f"pi_{secrets.token_hex(12)}",
        "payment_status": "paid",
        "status": "complete",
        "metadata": {"order_id": str(created)},
    }


# Stripe's common event families by type prefix, longest first where one contains another.
STRIPE_OBJECTS: dict[str, Callable[[int], dict[str, Any]]] = {
    "payment_intent.": _payment_intent,
    "invoice.": _invoice,
    "customer.subscription.": _subscription,
    "customer.": _customer,
    "charge.": _charge,
    "checkout.session.": _checkout_session,
}


# The object as the event leaves it, where that is not the family's usual (paid, succeeded,
# active) state: a handler tried on `invoice.payment_failed` must see an unpaid invoice.
_UNPAID = {"amount_paid": 0, "amount_remaining": 2000}
STRIPE_STATES: dict[str, dict[str, Any]] = {
    "invoice.created": {"status": "draft", **_UNPAID},
    "invoice.finalized": {"status": "open", **_UNPAID},
    "invoice.payment_failed": {"status": "open", **_UNPAID, "attempted": True, "attempt_count": 1},
    "invoice.voided": {"status": "void", **_UNPAID},
    "payment_intent.created": {"status": "requires_payment_method", "amount_received": 0},
    "payment_intent.payment_failed": {
        "status": "requires_payment_method",
        "amount_received": 0,
        "last_payment_error": {"code": "card_declined", "decline_code": "generic_decline", "type": "card_error"},
    },
    "payment_intent.canceled": {"status": "canceled", "amount_received": 0},
    "charge.failed": {"status": "failed", "paid": False, "failure_code": "card_declined"},
    "charge.refunded": {"amount_refunded": 2000, "refunded": True},
    "customer.subscription.deleted": {"status": "canceled"},
    "checkout.session.expired": {"status": "expired", "payment_status": "unpaid"},
}


def _by_prefix(table: Mapping[str, T], event_type: str) -> T | None:
    """The entry whose key is the type, or its longest prefix (keys ending in "." or "/")."""
    matches = [key for key in table if event_type == key or (key[-1] in "./" and event_type.startswith(key))]
    return table[max(matches, key=len)] if matches else None


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
    the ``whsec_<base64 key>`` the sender shows; or ``v1a,<base64 Ed25519 signature>`` of the same
    text when ``secret`` is a ``whsk_`` private key. By the specification's recipe rather than the
    reference library, whose ``sign`` takes a datetime: tests sign timestamps no datetime holds."""
    stamp = int(time.time()) if timestamp is None else timestamp
    signed = b"%s.%d.%s" % (message_id.encode(), stamp, body)
    if secret.startswith(ASYMMETRIC_PREFIX):
        entry = "v1a," + base64.b64encode(standard_private_key(secret).sign(signed)).decode()
    elif secret.startswith("whpk_"):
        raise ValueError("a whpk_ public key cannot sign: pass the matching whsk_ private key with --secret")
    else:
        key = base64.b64decode(secret.removeprefix("whsec_") + "==")
        entry = "v1," + hmac_signature(key, signed, "sha256", "base64")
    return {**JSON, "webhook-id": message_id, "webhook-timestamp": str(stamp), "webhook-signature": entry}


def standard_private_key(secret: str) -> Ed25519PrivateKey:
    """A ``whsk_`` secret key as Svix writes one: base64 of the 32-byte seed and the 32-byte public
    key (the seed alone is taken too). ValueError if it is neither, or if its halves disagree."""
    try:
        raw = base64.b64decode(secret.removeprefix(ASYMMETRIC_PREFIX), validate=True)
    except ValueError:  # binascii.Error
        raw = b""
    if len(raw) not in (32, 64):
        raise ValueError("a whsk_ key is the base64 of 32 or 64 bytes (the seed and the public key, as Svix shows it)")
    key = Ed25519PrivateKey.from_private_bytes(raw[:32])
    if len(raw) == 64 and key.public_key().public_bytes_raw() != raw[32:]:
        raise ValueError("the whsk_ key's second half is not the public key of its first")
    return key


def standard_public_key(secret: str) -> str:
    """The ``whpk_`` public key of a ``whsk_`` secret key: what the endpoint's variable holds."""
    return "whpk_" + base64.b64encode(standard_private_key(secret).public_key().public_bytes_raw()).decode()


def hmac_signature(secret: str | bytes, message: bytes, algorithm: str, encoding: str) -> str:
    """HMAC(secret, message) in hex or base64: the recipe of the senders that publish no signer."""
    digest = hmac.new(secret.encode() if isinstance(secret, str) else secret, message, algorithm).digest()
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()


def _text(body: bytes) -> str:
    """Stripe's SDK signs text. A body that is not UTF-8 (only hostile tests send one) is signed as its
    replacement-decoded text: the server refuses it as body_not_utf8 before any signature check."""
    return body.decode("utf-8", "replace")


# Each built-in sender's default event type in `send`.
DEFAULT_TYPES = {
    "stripe": "payment_intent.succeeded",
    "github": "issues",
    "shopify": "orders/create",
    "slack": "app_mention",
    "standard": "invoice.paid",
}
# The senders an endpoint of WEBHOOK_ENDPOINTS_FILE names by scheme (dev/senders/), their defaults.
SENDERS = {
    "twilio": twilio,
    "discord": discord,
    "sendgrid": sendgrid,
    "clerk": clerk,
    "resend": resend,
    "hubspot": hubspot,
    "adyen": adyen,
    "square": square,
    "paddle": paddle,
    "zoom": zoom,
    "twitch": twitch,
    "gitlab": gitlab,
    "mailgun": mailgun,
    "bitbucket": bitbucket,
    "jira": jira,
    "intercom": intercom,
    "linear": linear,
    "typeform": typeform,
    "woocommerce": woocommerce,
    "calendly": calendly,
    "zendesk": zendesk,
}
DEFAULT_TYPES |= {name: module.DEFAULT_TYPE for name, module in SENDERS.items()}
# The public-key schemes: `send` signs with the private key given with --secret, described here.
# The Standard Webhooks private key's prefix: `send standard --secret whsk_…` signs v1a.
ASYMMETRIC_PREFIX = "whsk_"
PRIVATE_KEYS = {
    "discord": "an Ed25519 private key's 32-byte seed in hex (docs/how-to/senders.md shows how to make a pair)",
    "sendgrid": "a P-256 private key's scalar in hex (docs/how-to/senders.md shows how to make a pair)",
}


def signed_sample(
    scheme: str, secret: str, event_type: str, event_id: str | None = None, *, url: str = ""
) -> SignedSample:
    """A realistic delivery for ``scheme``, signed the way that sender signs, to be posted to
    ``url`` (Twilio signs it)."""
    if scheme in SENDERS:
        return SENDERS[scheme].sample(secret, event_type, event_id, url)
    return _SIGNERS[scheme](secret, event_type, event_id)


def _stripe(secret: str, event_type: str, event_id: str | None) -> SignedSample:
    event = stripe_event(event_type, event_id=event_id)
    body, headers = signed_stripe_request(event, secret)
    return SignedSample(event["id"], event_type, body, headers)


_GITHUB_REPOSITORY = {"id": 1296269, "full_name": "octocat/Hello-World", "default_branch": "main"}
_GITHUB_SENDER = {"login": "octocat", "id": 1}
# GitHub's common events (the X-GitHub-Event header), each with the body GitHub sends for it.
GITHUB_BODIES: dict[str, Callable[[], dict[str, Any]]] = {
    "issues": lambda: {
        "action": "opened",
        "issue": {"number": 1347, "title": "Found a bug", "state": "open", "user": _GITHUB_SENDER},
    },
    "pull_request": lambda: {
        "action": "opened",
        "number": 42,
        "pull_request": {"number": 42, "title": "Fix the bug", "state": "open", "head": {"ref": "fix"}},
    },
    "push": lambda: {
        "ref": "refs/heads/main",
        "before": secrets.token_hex(20),
        "after": secrets.token_hex(20),
        "commits": [{"id": secrets.token_hex(20), "message": "Fix the bug", "author": {"name": "Mona"}}],
    },
    "ping": lambda: {"zen": "Design for failure.", "hook_id": 292430182, "hook": {"type": "Repository"}},
}


def _github(secret: str, event_type: str, event_id: str | None) -> SignedSample:
    delivery = event_id or str(uuid.uuid4())
    document = GITHUB_BODIES.get(event_type, GITHUB_BODIES["issues"])()
    body = _json(document | {"repository": _GITHUB_REPOSITORY, "sender": _GITHUB_SENDER})
    headers = github_headers(body, secret, delivery=delivery, event=event_type)
    headers.update(
        {
            "User-Agent": "GitHub-Hookshot/044aadd",
            "X-GitHub-Hook-ID": "292430182",
            "X-GitHub-Hook-Installation-Target-Type": "repository",
            "X-GitHub-Hook-Installation-Target-ID": "1296269",
        }
    )
    return SignedSample(delivery, event_type, body, headers)


def _shopify_order(object_id: int) -> dict[str, Any]:
    return {
        "id": object_id,
        "email": "jon@example.com",
        "currency": "USD",
        "total_price": "20.00",
        "financial_status": "paid",
        "line_items": [{"id": object_id + 1, "title": "webhook-server sample", "quantity": 1, "price": "20.00"}],
    }


def _shopify_customer(object_id: int) -> dict[str, Any]:
    return {"id": object_id, "email": "jon@example.com", "first_name": "Jon", "last_name": "Snow", "state": "enabled"}


def _shopify_product(object_id: int) -> dict[str, Any]:
    return {
        "id": object_id,
        "title": "webhook-server sample",
        "status": "active",
        "variants": [{"id": object_id + 1, "price": "20.00", "sku": "WHS-1", "inventory_quantity": 10}],
    }


# Shopify's common topic families (X-Shopify-Topic), each with the resource the body is.
SHOPIFY_BODIES: dict[str, Callable[[int], dict[str, Any]]] = {
    "orders/": _shopify_order,
    "customers/": _shopify_customer,
    "products/": _shopify_product,
}


def _shopify(secret: str, event_type: str, event_id: str | None) -> SignedSample:
    """``event_id`` is X-Shopify-Event-Id, what identifies a duplicate; each delivery has its own webhook id."""
    event_id = event_id or str(uuid.uuid4())
    build = _by_prefix(SHOPIFY_BODIES, event_type) or _shopify_order
    body = _json(build(secrets.randbelow(10**15)))
    headers = shopify_headers(body, secret, webhook_id=str(uuid.uuid4()), topic=event_type)
    headers.update(
        {
            "X-Shopify-Shop-Domain": "example.myshopify.com",
            "X-Shopify-API-Version": "2025-10",
            "X-Shopify-Event-Id": event_id,
            "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
        }
    )
    return SignedSample(event_id, event_type, body, headers)


# Slack's common Events API types (the inner event), each with the fields Slack sends for it.
SLACK_EVENTS: dict[str, Callable[[int], dict[str, Any]]] = {
    "app_mention": lambda now: {"user": "U061F7AUR", "text": "<@U0LAN0Z89> hello", "ts": f"{now}.000200"},
    "message": lambda now: {"channel": "C0LAN2Q65", "user": "U061F7AUR", "text": "hello", "ts": f"{now}.000300"},
    "reaction_added": lambda now: {
        "user": "U061F7AUR",
        "reaction": "thumbsup",
        "item": {"type": "message", "channel": "C0LAN2Q65", "ts": f"{now}.000300"},
        "event_ts": f"{now}.000400",
    },
}


def _slack(secret: str, event_type: str, event_id: str | None) -> SignedSample:
    event_id = event_id or f"Ev{secrets.token_hex(5).upper()}"
    now = int(time.time())
    inner = SLACK_EVENTS.get(event_type, SLACK_EVENTS["message"])(now)
    body = _json(
        {
            "token": "verification-token-unused",
            "team_id": "T061EG9RZ",
            "api_app_id": "A0MDYCDME",
            "event": {"type": event_type, **inner},
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
# The types each sender has a realistic sample for: an exact type, or a family ending in "." or "/".
_CATALOGUE: dict[str, Mapping[str, object]] = {
    "stripe": STRIPE_OBJECTS,
    "github": GITHUB_BODIES,
    "shopify": SHOPIFY_BODIES,
    "slack": SLACK_EVENTS,
    **{name: module.CATALOGUE for name, module in SENDERS.items()},
}


def has_sample(scheme: str, event_type: str) -> bool:
    """Whether `send` has a realistic object for this type; schemes without a catalogue of types
    (Standard Webhooks, generic HMAC) carry whatever type they are given."""
    table = _CATALOGUE.get(scheme)
    return table is None or _by_prefix(table, event_type) is not None


def types_help(scheme: str) -> str:
    table = _CATALOGUE.get(scheme)
    if table is None:
        return "any type (the body carries it as given)"
    return "samples for " + ", ".join(key + "*" if key[-1] in "./" else key for key in table)


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
