"""SendGrid's Event Webhook as SendGrid posts it: a batch of events signed with an ECDSA P-256
key (``headers``; tests and `send` make their own pair), and a batch for `send` (``sample``).

The private key is given as its secret scalar in hex (64 digits), which fits a command line."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from webhook_server.dev.signed import JSON, SignedSample
from webhook_server.schemes.base import body_digest


def private_key(scalar_hex: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int(scalar_hex, 16), ec.SECP256R1())


def new_private_key() -> str:
    """A P-256 private key's scalar in hex, for a test or a dev endpoint."""
    key = ec.generate_private_key(ec.SECP256R1())
    return f"{key.private_numbers().private_value:064x}"


def public_key(scalar_hex: str) -> str:
    """The verification key SendGrid would show for that key: base64 of the public key's DER."""
    der = (
        private_key(scalar_hex)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(der).decode()


def headers(body: bytes, scalar_hex: str, *, timestamp: int | None = None) -> dict[str, str]:
    """SendGrid's signature: base64 of the DER ECDSA-SHA256 signature of ``<timestamp><body>``."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = private_key(scalar_hex).sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        **JSON,
        "User-Agent": "SendGrid Event API",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
    }


def _event(kind: str, now: int, **fields: Any) -> dict[str, Any]:
    return {
        "email": "jenny.rosen@example.com",
        "timestamp": now,
        "smtp-id": f"<{secrets.token_hex(8)}@example.com>",
        "event": kind,
        "category": ["webhook-server sample"],
        "sg_event_id": base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("="),
        "sg_message_id": f"{secrets.token_hex(11)}.filterdrecv-{secrets.token_hex(4)}-1-0",
        **fields,
    }


# SendGrid's common event types, each with the fields it adds.
EVENTS: dict[str, Callable[[int], dict[str, Any]]] = {
    "processed": lambda now: _event("processed", now),
    "delivered": lambda now: _event("delivered", now, response="250 OK"),
    "open": lambda now: _event("open", now, useragent="Mozilla/5.0", ip="192.0.2.1"),
    "click": lambda now: _event("click", now, url="https://example.com/", useragent="Mozilla/5.0"),
    "bounce": lambda now: _event("bounce", now, reason="550 5.1.1 unknown user", status="5.1.1", type="bounce"),
}
DEFAULT_TYPE = "delivered"
CATALOGUE = EVENTS


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    """A batch of two events of one type, signed with ``secret`` (the private scalar in hex).
    SendGrid gives a batch no id: it is stored under the body's hash, whatever ``event_id``."""
    kind = event_type if event_type in EVENTS else DEFAULT_TYPE
    now = int(time.time())
    body = json.dumps([EVENTS[kind](now), EVENTS[kind](now)]).encode()
    return SignedSample(body_digest(body), kind, body, headers(body, secret))
