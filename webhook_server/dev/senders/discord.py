"""Discord's interactions as Discord posts them: signed with the application's Ed25519 private
key (``headers``; tests and `send` make their own pair), and a slash command for `send`."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from webhook_server.dev.signed import JSON, SignedSample

APPLICATION_ID = "1234567890123456789"


def snowflake() -> str:
    """An id shaped like Discord's (a 64-bit number whose top bits are a timestamp)."""
    return str(((int(time.time() * 1000) - 1420070400000) << 22) | secrets.randbits(22))


def private_key(seed_hex: str) -> Ed25519PrivateKey:
    """The private key from its 32-byte seed in hex (what `send discord --secret` takes)."""
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))


def public_key_hex(seed_hex: str) -> str:
    """The Public Key Discord would show for that private key: what the endpoint's secret_env holds."""
    return private_key(seed_hex).public_key().public_bytes_raw().hex()


def headers(body: bytes, seed_hex: str, *, timestamp: int | None = None) -> dict[str, str]:
    """Discord's signature: hex Ed25519 of ``<timestamp><body>``."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = private_key(seed_hex).sign(stamp.encode() + body).hex()
    return {
        **JSON,
        "User-Agent": "Discord-Interactions/1.0 (+https://discord.com)",
        "X-Signature-Ed25519": signature,
        "X-Signature-Timestamp": stamp,
    }


def interaction(kind: int, interaction_id: str | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    document = {
        "id": interaction_id or snowflake(),
        "application_id": APPLICATION_ID,
        "type": kind,
        "token": "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48),
        "version": 1,
    }
    if kind != 1:
        document |= {
            "guild_id": "290926798626357250",
            "channel_id": "645027906669510667",
            "member": {"user": {"id": "53908232506183680", "username": "mason"}, "roles": []},
            "data": data or {},
            "locale": "en-US",
        }
    return document


# Interaction kinds by the type schemes/discord.py gives them, with their data.
KINDS: dict[str, tuple[int, dict[str, Any]]] = {
    "application_command": (
        2,
        {
            "id": "771825006014889984",
            "name": "order",
            "type": 1,
            "options": [{"name": "item", "type": 3, "value": "sample"}],
        },
    ),
    "message_component": (3, {"custom_id": "confirm_order", "component_type": 2}),
    "modal_submit": (5, {"custom_id": "feedback", "components": []}),
}


DEFAULT_TYPE = "application_command"
CATALOGUE = KINDS


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    """An interaction signed with ``secret``, the private key's seed in hex."""
    name = event_type if event_type in KINDS else DEFAULT_TYPE
    kind, data = KINDS[name]
    document = interaction(kind, event_id, data)
    body = json.dumps(document, indent=2).encode()
    return SignedSample(document["id"], name, body, headers(body, secret))
