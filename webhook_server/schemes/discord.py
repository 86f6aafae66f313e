"""Discord: ``X-Signature-Ed25519`` = hex Ed25519 signature of ``<X-Signature-Timestamp><body>``,
made with the application's private key; the endpoint holds its "Public Key" (hex, from the
Developer Portal's General Information page).

Two kinds of delivery share the scheme. The Interactions Endpoint URL receives interactions
(slash commands, buttons, modals): saving the URL sends a PING (``type`` 1), answered with a
PONG (``{"type": 1}``), nothing stored; every other interaction is stored under its ``id`` and
answered with a deferral, since Discord wants an answer within 3 s and the handler runs later:
``{"type": 5}`` (a "thinking…" message the handler edits through the interaction's token) for
a command or a modal, ``{"type": 6}`` for a component, and no choices for an autocomplete (its
answer cannot be deferred). The Webhook Events URL receives ``{"type": 0}`` PINGs, answered
with 204, and events (``type`` 1) whose ``event.type`` is the type (``APPLICATION_AUTHORIZED``),
stored under the body's hash (they carry no id).

Interactions are not retried, so a 5-minute window on the signed timestamp loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webhook_server.schemes.base import (
    Handshake,
    Rejected,
    RequestUrl,
    VerifiedEvent,
    body_digest,
    json_body,
    required_identifier,
)
from webhook_server.schemes.keys import ed25519_key, keys_from, require_signed, signature_bytes
from webhook_server.schemes.signing import TOLERANCE_SECONDS, fresh_signature_and_timestamp

SIGNATURE_HEADER = "X-Signature-Ed25519"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
PING = 1
# Interaction types by number, and the deferred answer each gets (Discord's names, lowercased).
INTERACTIONS: dict[int, tuple[str, dict[str, Any]]] = {
    2: ("application_command", {"type": 5}),
    3: ("message_component", {"type": 6}),
    4: ("application_command_autocomplete", {"type": 8, "data": {"choices": []}}),
    5: ("modal_submit", {"type": 5}),
}
WEBHOOK_PING, WEBHOOK_EVENT = 0, 1


def check_secrets(secrets: tuple[str, ...], variable: str) -> None:
    keys_from(secrets, variable, ed25519_key, "an Ed25519 public key in hex (the application's Public Key)")


class DiscordVerifier:
    name = "discord"

    def __init__(
        self, secrets: tuple[str, ...], *, variable: str = "DISCORD_PUBLIC_KEY", tolerance: float = TOLERANCE_SECONDS
    ) -> None:
        self._keys = keys_from(secrets, variable, ed25519_key, "an Ed25519 public key in hex")
        self._variable = variable
        self._tolerance = tolerance

    def verify(
        self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None
    ) -> VerifiedEvent | Handshake:
        signed, timestamp = fresh_signature_and_timestamp(
            headers, SIGNATURE_HEADER, TIMESTAMP_HEADER, "Discord", tolerance=self._tolerance
        )
        signature = signature_bytes(signed, "hex", SIGNATURE_HEADER, range(64, 65))
        require_signed(
            self._keys,
            timestamp.encode() + body,
            signature,
            problem=f"the signature matches none of the configured public keys; check {self._variable} against "
            "the application's Public Key in Discord's Developer Portal",
        )
        text, document = json_body(body)
        kind = document.get("type")
        if "event" in document or kind == WEBHOOK_PING:
            return _webhook_event(body, text, document)
        if kind == PING and type(kind) is int:
            return Handshake({"type": 1})
        if type(kind) is not int or kind not in INTERACTIONS:
            raise Rejected("event_malformed", f"the interaction's type {kind!r} is not one Discord sends")
        name, deferral = INTERACTIONS[kind]
        return VerifiedEvent(required_identifier(document, "id"), name, text, reply=deferral)


def _webhook_event(body: bytes, text: str, document: dict[str, Any]) -> VerifiedEvent | Handshake:
    if document.get("type") == WEBHOOK_PING:
        return Handshake(None)
    event = document.get("event")
    if document.get("type") != WEBHOOK_EVENT or not isinstance(event, dict):
        raise Rejected("event_malformed", "a Discord webhook event needs type 1 and an event object")
    return VerifiedEvent(body_digest(body), required_identifier(event, "type"), text)
