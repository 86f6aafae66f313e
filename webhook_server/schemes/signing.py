"""What the HMAC schemes share: reading their headers, decoding signatures, comparing them in
constant time against every configured secret, and checking a signed timestamp's age; and the
base classes that hold a verifier's secrets and window (``SecretVerifier``, ``TimedVerifier``)
and check Slack's ``v0`` signature, which Zoom copies (``V0Verifier``).

Every failure is a Rejected with a stable reason code shared by all schemes:
``signature_missing``, ``signature_malformed``, ``signature_invalid``, ``signature_expired``,
``header_missing``, ``header_malformed``. Messages name headers, never a secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

from webhook_server.schemes.base import Reason, Rejected, identifier

# The senders' replay window: Stripe, Slack and Standard Webhooks all document 5 minutes.
TOLERANCE_SECONDS = 300
# Digest constructors by the names the endpoints file accepts.
ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
ENCODINGS = ("hex", "base64")


def header(headers: Mapping[str, str], name: str, *, reason: Reason = "header_missing", hint: str = "") -> str:
    """A header that must be present and non-empty; ``hint`` says what to check if it is not."""
    value = (headers.get(name) or "").strip()
    if not value:
        raise Rejected(reason, f"no {name} header{hint}")
    return value


def identifier_header(headers: Mapping[str, str], name: str) -> str:
    """An event id or type carried in a header, sent once: a repeated header arrives joined
    with commas, and storing the joined value would defeat deduplication."""
    value = identifier(header(headers, name), f"the {name} header", "header_malformed")
    if "," in value:
        raise Rejected("header_malformed", f"the {name} header is repeated or contains a comma; send it once")
    return value


def signature_and_timestamp(headers: Mapping[str, str], signature: str, timestamp: str, sender: str) -> tuple[str, str]:
    """The two headers of a timestamped scheme (Discord, SendGrid, Slack, Zoom), both required."""
    hint = f"; is this request from {sender}?"
    return (
        header(headers, signature, reason="signature_missing", hint=hint),
        header(headers, timestamp, reason="signature_missing", hint=hint),
    )


def fresh_signature_and_timestamp(
    headers: Mapping[str, str], signature: str, timestamp: str, sender: str, *, tolerance: float
) -> tuple[str, str]:
    """The two headers of a scheme whose timestamp is Unix seconds (Discord, Slack, Zoom), the
    timestamp within ``tolerance``: read, then checked, before any signature is decoded."""
    signed, stamp = signature_and_timestamp(headers, signature, timestamp, sender)
    require_fresh(unix_time(stamp, timestamp), tolerance=tolerance)
    return signed, stamp


def refuse_form_encoded(headers: Mapping[str, str], message: str) -> None:
    """Deliveries are stored as jsonb: a form-encoded body (a sender set up for that) is refused."""
    if (headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
        raise Rejected("body_not_json", message)


def without_prefix(value: str, prefix: str, header_name: str) -> str:
    if not value.startswith(prefix):
        raise Rejected("signature_malformed", f"the {header_name} header does not start with {prefix!r}")
    return value[len(prefix) :]


def decode_signature(value: str, encoding: str, header_name: str, *, algorithm: str = "sha256") -> bytes:
    """The signature's bytes, which must be one digest of ``algorithm`` long.

    Strict decoding: no whitespace or stray characters (a duplicated header arrives joined
    with commas, and says so here rather than as a mismatch).
    """
    try:
        raw = binascii.unhexlify(value) if encoding == "hex" else base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise Rejected("signature_malformed", f"the {header_name} header is not one {encoding} digest") from None
    size = ALGORITHMS[algorithm]().digest_size
    if len(raw) != size:
        raise Rejected(
            "signature_malformed",
            f"the {header_name} header decodes to {len(raw)} bytes; an HMAC-{algorithm.upper()} has {size}",
        )
    return raw


def require_match(
    keys: tuple[bytes, ...], message: bytes, signature: bytes, *, variable: str, algorithm: str = "sha256"
) -> None:
    """Accept if any key (several during a rotation) signs ``message`` to ``signature``."""
    require_any_match(
        keys,
        (message,),
        signature,
        algorithm=algorithm,
        problem=f"the signature matches none of the configured secrets; check {variable} "
        "against the secret the sender signs with",
    )


def require_any_match(
    keys: tuple[bytes, ...], messages: Sequence[bytes], signature: bytes, *, algorithm: str, problem: str
) -> None:
    """Accept if any key signs any of ``messages`` (the spellings a sender may have signed, such
    as a URL with and without its port) to ``signature``; else Rejected saying ``problem``.

    Every key and message is tried, match or not, so the time taken says nothing about which matched.
    """
    matching_keys(keys, messages, signature, algorithm=algorithm, problem=problem)


def matching_keys(
    keys: tuple[bytes, ...], messages: Sequence[bytes], signature: bytes, *, algorithm: str, problem: str
) -> tuple[bytes, ...]:
    """The keys that sign any of ``messages`` to ``signature`` (Zoom answers its validation with
    the one that signed), every key tried; Rejected saying ``problem`` when there is none."""
    signers = tuple(key for key in keys if hmac_matches((key,), messages, signature, algorithm=algorithm))
    if not signers:
        raise Rejected("signature_invalid", problem)
    return signers


def hmac_matches(keys: tuple[bytes, ...], messages: Sequence[bytes], signature: bytes, *, algorithm: str) -> bool:
    """Whether any key signs any of ``messages`` to ``signature``; every pair is tried."""
    matched = False
    for key in keys:
        for message in messages:
            expected = hmac.new(key, message, ALGORITHMS[algorithm]).digest()
            matched |= hmac.compare_digest(expected, signature)
    return matched


def unix_time(value: str, header_name: str, *, milliseconds: bool = False) -> int:
    """A signed timestamp: whole seconds (or milliseconds: HubSpot) since the epoch, digits only."""
    if not (value.isascii() and value.isdigit() and len(value) <= 12 + 3 * milliseconds):
        unit = "milliseconds" if milliseconds else "seconds"
        raise Rejected("signature_malformed", f"the {header_name} header is not a Unix time in {unit}")
    return int(value)


def require_fresh(signed_at: float, *, tolerance: float = TOLERANCE_SECONDS) -> None:
    """Refuse signatures older or newer than the tolerance (the sender's documented window):
    a replay, or a clock to fix."""
    age = time.time() - signed_at
    if abs(age) > tolerance:
        raise Rejected(
            "signature_expired",
            f"the signature's timestamp is {age:+.0f} s off this server's clock "
            f"(tolerance {tolerance:g} s): a replay, or a clock to fix with NTP",
        )


def utf8_keys(secrets: tuple[str, ...]) -> tuple[bytes, ...]:
    """HMAC keys for schemes that use the secret's text as the key (GitHub, Shopify, Slack)."""
    return tuple(secret.encode("utf-8") for secret in secrets)


class SecretVerifier:
    """What a verifier keyed with its sender's secrets holds: the secrets' bytes as keys and the
    variable they come from (named in messages). A sender's subclass gives its ``name`` and
    ``variable`` (the secret's usual name); an endpoint may name its own variable."""

    name: str
    variable: str

    def __init__(self, secrets: tuple[str, ...], *, variable: str | None = None) -> None:
        self._keys = utf8_keys(secrets)
        self._variable = variable or self.variable


class TimedVerifier(SecretVerifier):
    """A SecretVerifier whose sender signs a time, refused outside ``tolerance`` seconds: 5 minutes
    unless the sender documents another window (a subclass's ``tolerance``) or the endpoint sets one."""

    tolerance: float = TOLERANCE_SECONDS

    def __init__(
        self, secrets: tuple[str, ...], *, variable: str | None = None, tolerance: float | None = None
    ) -> None:
        super().__init__(secrets, variable=variable)
        self._tolerance = self.tolerance if tolerance is None else tolerance


class V0Verifier(TimedVerifier):
    """Slack's signature, which Zoom copies: ``v0=<hex HMAC-SHA256 of "v0:<timestamp>:<body>">``
    in ``signature_header``, the Unix time in ``timestamp_header``; ``sender`` and ``secret_hint``
    (where the sender shows the secret) are for messages."""

    signature_header: str
    timestamp_header: str
    sender: str
    secret_hint: str

    def signers(self, headers: Mapping[str, str], body: bytes) -> tuple[bytes, ...]:
        """The keys that sign the delivery, every one tried; Rejected if none does."""
        signed, timestamp = fresh_signature_and_timestamp(
            headers, self.signature_header, self.timestamp_header, self.sender, tolerance=self._tolerance
        )
        signature = decode_signature(without_prefix(signed, "v0=", self.signature_header), "hex", self.signature_header)
        return matching_keys(
            self._keys,
            [b"v0:%s:%s" % (timestamp.encode(), body)],
            signature,
            algorithm="sha256",
            problem=f"the signature matches none of the configured secrets; check {self._variable} "
            f"against {self.secret_hint}",
        )
