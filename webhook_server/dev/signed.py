"""A delivery as its sender would post it: what every sample of `send` makes (samples.py, senders/)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class SignedSample:
    """One delivery as its sender would post it."""

    event_id: str
    event_type: str
    body: bytes
    headers: dict[str, str]


def signed_json(user_agent: str, signature_header: str, signature: str) -> dict[str, str]:
    """The headers of a sender that adds only its User-Agent and one signature header to JSON
    (Intercom, Typeform)."""
    return {**JSON, "User-Agent": user_agent, signature_header: signature}


def hmac_digest(secret: str, message: bytes, *, algorithm: str = "sha256", encoding: str = "hex") -> str:
    """HMAC(secret, message) in hex or base64: the recipe of the senders in dev/senders that
    publish no signer of their own."""
    digest = hmac.new(secret.encode(), message, getattr(hashlib, algorithm)).digest()
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
