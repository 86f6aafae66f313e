"""Public-key signatures (Discord and Standard Webhooks' ``v1a``: Ed25519; SendGrid: ECDSA P-256),
verified with ``cryptography``: the endpoint holds the sender's public key, never a secret.

Keys are read once at start; a value that is not a key of the right kind stops the start with
the variable's name (``keys_from``). As with the HMAC schemes, every configured key is tried
(two during a rotation), whatever the first one's answer.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key

from webhook_server.errors import ConfigError
from webhook_server.schemes.base import Rejected

PublicKey: TypeAlias = Ed25519PublicKey | ec.EllipticCurvePublicKey
# How the Standard Webhooks specification writes a public key for its v1a (Ed25519) signatures.
PUBLIC_KEY_PREFIX = "whpk_"


def ed25519_key(value: str) -> Ed25519PublicKey:
    """A 32-byte Ed25519 public key, in hex (Discord's "Public Key") or base64."""
    raw = binascii.unhexlify(value) if len(value) == 64 else base64.b64decode(value, validate=True)
    return Ed25519PublicKey.from_public_bytes(raw)


def whpk_key(value: str) -> Ed25519PublicKey:
    """A Standard Webhooks public key: ``whpk_`` and the base64 of the raw 32-byte Ed25519 key."""
    if not value.startswith(PUBLIC_KEY_PREFIX):
        raise ValueError(f"no {PUBLIC_KEY_PREFIX} prefix")
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(value.removeprefix(PUBLIC_KEY_PREFIX), validate=True))


def p256_key(value: str) -> ec.EllipticCurvePublicKey:
    """A P-256 public key as SendGrid shows it: base64 of its DER SubjectPublicKeyInfo."""
    key = load_der_public_key(base64.b64decode(value, validate=True))
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 public key")
    return key


def keys_from(
    secrets: tuple[str, ...], variable: str, load: Callable[[str], PublicKey], what: str
) -> tuple[PublicKey, ...]:
    """Every configured public key, or a ConfigError naming the variable (never the value)."""
    keys = []
    for secret in secrets:
        try:
            keys.append(load(secret))
        except (ValueError, UnsupportedAlgorithm):  # binascii.Error is a ValueError
            raise ConfigError(variable, f"a value is not {what}; copy the public key as the sender shows it") from None
    return tuple(keys)


def signature_bytes(value: str, encoding: str, header_name: str, sizes: range) -> bytes:
    """A public-key signature as sent (hex or base64), of a length the algorithm can produce."""
    try:
        raw = binascii.unhexlify(value) if encoding == "hex" else base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise Rejected("signature_malformed", f"the {header_name} header is not {encoding}") from None
    if len(raw) not in sizes:
        raise Rejected("signature_malformed", f"the {header_name} header is not one signature")
    return raw


def require_signed(keys: Sequence[PublicKey], message: bytes, signature: bytes, *, problem: str) -> None:
    """Accept if any key verifies ``signature`` over ``message``; else Rejected with ``problem``."""
    if not signed_by_any(keys, message, (signature,)):
        raise Rejected("signature_invalid", problem)


def signed_by_any(keys: Sequence[PublicKey], message: bytes, signatures: Sequence[bytes]) -> bool:
    """Whether any key verifies any of ``signatures`` over ``message``; every pair is tried, so
    the time taken says nothing about which matched."""
    verified = [_verifies(key, message, signature) for key in keys for signature in signatures]
    return any(verified)


def _verifies(key: PublicKey, message: bytes, signature: bytes) -> bool:
    try:
        if isinstance(key, Ed25519PublicKey):
            key.verify(signature, message)
        else:
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
