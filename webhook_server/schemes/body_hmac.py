"""What the senders that sign with one HMAC header share (Bitbucket, Jira, Intercom, Linear,
Typeform, WooCommerce, Calendly, Zendesk): the header is read, decoded and compared against every
secret, the JSON body parsed; each sender's module says only where its signature, its signed
message, its id and its type are.

A sender module subclasses ``BodyHmacVerifier`` with its ``name``, ``variable`` (the secret's
usual name, for messages), ``tolerance`` if it signs a time, and ``signature`` (header, prefix,
encoding, hash), and names the body's ``id_field`` and ``type_field`` or implements
``identify``; ``signed`` and ``handshake`` are overridden by the senders that sign more than the
body (a timestamp) or answer a ping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from webhook_server.schemes.base import Handshake, RequestUrl, VerifiedEvent, json_body, required_identifier
from webhook_server.schemes.signing import TimedVerifier, decode_signature, header, require_match, without_prefix


@dataclass(frozen=True)
class Signature:
    """Where a sender puts its HMAC: ``header``, after ``prefix``, in ``encoding``, of ``algorithm``."""

    header: str
    prefix: str = ""
    encoding: str = "hex"
    algorithm: str = "sha256"


class BodyHmacVerifier(TimedVerifier):
    signature: Signature
    # The event's id and type as fields of the body, for the senders that put them there
    # (Intercom, Typeform); the others implement ``identify``.
    id_field: str = ""
    type_field: str = ""

    def verify(
        self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None
    ) -> VerifiedEvent | Handshake:
        spec = self.signature
        value = header(headers, spec.header, reason="signature_missing", hint=f"; is this request from {self.name}?")
        digest = decode_signature(self.signature_value(value), spec.encoding, spec.header, algorithm=spec.algorithm)
        message = self.signed(body, headers, value)
        require_match(self._keys, message, digest, variable=self._variable, algorithm=spec.algorithm)
        ping = self.handshake(body, headers)
        if ping is not None:
            return ping
        text, document = json_body(body)
        event_id, event_type = self.identify(document, headers, body)
        return VerifiedEvent(event_id, event_type, text)

    def signature_value(self, value: str) -> str:
        """The encoded digest in the header's value: after the prefix, by default."""
        return without_prefix(value, self.signature.prefix, self.signature.header)

    def signed(self, body: bytes, headers: Mapping[str, str], value: str) -> bytes:
        """The message the sender signs: the body, by default."""
        return body

    def handshake(self, body: bytes, headers: Mapping[str, str]) -> Handshake | None:
        """A verified request to answer without storing (a ping), or None: by default, none."""
        return None

    def identify(self, document: dict[str, Any], headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
        """The event's id and type: by default, the body's ``id_field`` and ``type_field``."""
        return required_identifier(document, self.id_field), required_identifier(document, self.type_field)
