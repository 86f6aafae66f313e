"""The Discord scheme. Discord's SDKs only verify, so deliveries are signed with a key pair made
here (PyNaCl, the library discord-interactions uses), and discord-interactions' ``verify_key``
must accept what `send discord` signs: signer and verifier both match Discord's code."""

from __future__ import annotations

import contextlib
import json
import time

import pytest
from discord_interactions import verify_key
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey
from werkzeug.datastructures import Headers

from webhook_server.dev.senders import discord as discord_sender
from webhook_server.errors import ConfigError
from webhook_server.schemes import Handshake, Rejected, VerifiedEvent
from webhook_server.schemes.discord import DiscordVerifier

SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
PUBLIC_KEY = SigningKey(bytes.fromhex(SEED)).verify_key.encode().hex()


def nacl_signed(document: dict, seed: str = SEED, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """A delivery signed by PyNaCl as Discord signs: Ed25519 of the timestamp then the body."""
    body = json.dumps(document).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SigningKey(bytes.fromhex(seed)).sign(stamp.encode() + body).signature.hex()
    return body, {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": stamp}


def verify(body: bytes, headers: dict[str, str], keys: tuple[str, ...] = (PUBLIC_KEY,)):
    return DiscordVerifier(keys).verify(body, Headers(headers))


def reason(body: bytes, headers: dict[str, str], keys: tuple[str, ...] = (PUBLIC_KEY,)) -> str:
    with pytest.raises(Rejected) as caught:
        verify(body, headers, keys)
    return caught.value.reason


def test_the_public_key_send_derives_is_pynacls() -> None:
    assert discord_sender.public_key_hex(SEED) == PUBLIC_KEY


def test_a_ping_is_answered_with_a_pong_and_not_stored() -> None:
    assert verify(*nacl_signed(discord_sender.interaction(1))) == Handshake({"type": 1})


@pytest.mark.parametrize(
    ("kind", "name", "deferral"),
    [
        (2, "application_command", {"type": 5}),
        (3, "message_component", {"type": 6}),
        (4, "application_command_autocomplete", {"type": 8, "data": {"choices": []}}),
        (5, "modal_submit", {"type": 5}),
    ],
)
def test_an_interaction_is_stored_under_its_id_and_answered_with_a_deferral(
    kind: int, name: str, deferral: dict
) -> None:
    document = discord_sender.interaction(kind, "1180241094128066571")
    event = verify(*nacl_signed(document))
    assert isinstance(event, VerifiedEvent)
    assert (event.event_id, event.event_type, event.reply) == ("1180241094128066571", name, deferral)


def test_webhook_events_are_stored_and_their_ping_answered_with_204() -> None:
    assert verify(*nacl_signed({"version": 1, "application_id": "1", "type": 0})) == Handshake(None)
    document = {
        "version": 1,
        "application_id": "1",
        "type": 1,
        "event": {"type": "APPLICATION_AUTHORIZED", "timestamp": "2024-10-18T14:42:53.064834", "data": {}},
    }
    body, headers = nacl_signed(document)
    event = verify(body, headers)
    assert (event.event_type, event.reply, event.event_id.startswith("sha256:")) == (
        "APPLICATION_AUTHORIZED",
        None,
        True,
    )


def test_what_send_signs_is_valid_to_discord_interactions() -> None:
    for event_type in discord_sender.KINDS:
        sample = discord_sender.sample(SEED, event_type, None, "")
        headers = sample.headers
        assert verify_key(sample.body, headers["X-Signature-Ed25519"], headers["X-Signature-Timestamp"], PUBLIC_KEY)
        assert verify(sample.body, headers).event_type == event_type


def test_forged_stale_and_malformed_signatures_are_refused() -> None:
    document = discord_sender.interaction(2)
    body, headers = nacl_signed(document)
    other_seed = "00" * 32
    assert reason(*nacl_signed(document, other_seed)) == "signature_invalid"
    assert reason(body.replace(b'"type": 2', b'"type": 1'), headers) == "signature_invalid"  # a forged PING
    assert reason(*nacl_signed(document, timestamp=int(time.time()) - 3600)) == "signature_expired"
    stamp = headers["X-Signature-Timestamp"]
    assert reason(body, headers | {"X-Signature-Timestamp": str(int(stamp) + 1)}) == "signature_invalid"
    assert reason(body, {"X-Signature-Timestamp": stamp}) == "signature_missing"
    assert reason(body, headers | {"X-Signature-Ed25519": "zz"}) == "signature_malformed"
    assert reason(body, headers | {"X-Signature-Ed25519": "ab" * 63}) == "signature_malformed"
    assert reason(*nacl_signed({"id": "1", "type": 9})) == "event_malformed"
    assert reason(*nacl_signed({"id": "1", "type": True})) == "event_malformed"


def test_rotation_accepts_either_public_key() -> None:
    other = SigningKey.generate()
    keys = (other.verify_key.encode().hex(), PUBLIC_KEY)
    assert isinstance(verify(*nacl_signed(discord_sender.interaction(2)), keys=keys), VerifiedEvent)


@pytest.mark.parametrize("value", ["", "not hex", "ab" * 31, "ab" * 33])
def test_a_value_that_is_not_a_public_key_stops_the_start(value: str) -> None:
    with pytest.raises(ConfigError, match="BOT_PUBLIC_KEY"):
        DiscordVerifier((value,), variable="BOT_PUBLIC_KEY")


header_values = st.text(st.characters(exclude_characters="\r\n"), max_size=140)


@settings(max_examples=300, deadline=None)
@given(signature=header_values, timestamp=header_values, body=st.binary(max_size=300))
def test_any_input_is_an_event_or_a_refusal(signature: str, timestamp: str, body: bytes) -> None:
    with contextlib.suppress(Rejected):  # anything else fails the test
        verify(body, {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": timestamp})
