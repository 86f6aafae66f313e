"""Standard Webhooks' asymmetric signatures: ``v1a,<base64 Ed25519 signature of "<id>.<ts>.<body>">``,
checked against the endpoint's ``whpk_`` public keys.

No Python library verifies v1a, so deliveries are signed here with ``cryptography``'s Ed25519 by
the specification's recipe (spec/standard-webhooks.md, "Signature scheme"), apart from the
server's code; and the specification's own example header is checked as a vector.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from werkzeug.datastructures import Headers

from webhook_server.dev import samples
from webhook_server.errors import ConfigError
from webhook_server.schemes import Rejected
from webhook_server.schemes.standard import StandardWebhooksVerifier, check_secrets

# The example of the Standard Webhooks specification (its "Example headers": the v1a entry) and of
# Svix's server, where it is made (svix-webhooks, server/svix-server/src/worker.rs,
# test_asymmetric_key_signing; README.md gives the key pair): whsk_ is base64(seed + public key).
SPEC_SECRET_KEY = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
SPEC_PUBLIC_KEY = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="

HMAC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = json.dumps({"type": "invoice.paid", "timestamp": "2026-11-23T18:00:00Z", "data": {"id": "inv_1"}}).encode()


def new_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def whpk(key: Ed25519PrivateKey) -> str:
    return "whpk_" + base64.b64encode(key.public_key().public_bytes_raw()).decode()


def v1a(key: Ed25519PrivateKey, message_id: str, timestamp: int, body: bytes) -> str:
    """The specification's recipe: Ed25519 over ``{msg_id}.{timestamp}.{payload}``, base64, after ``v1a,``."""
    return "v1a," + base64.b64encode(key.sign(f"{message_id}.{timestamp}.".encode() + body)).decode()


def signed(key: Ed25519PrivateKey, body: bytes = BODY, *, timestamp: int | None = None, prefix: str = "webhook"):
    stamp = int(time.time()) if timestamp is None else timestamp
    return Headers(
        {
            f"{prefix}-id": "msg_1",
            f"{prefix}-timestamp": str(stamp),
            f"{prefix}-signature": v1a(key, "msg_1", stamp, body),
        }
    )


def reason(body: bytes, headers: Headers, secrets: tuple[str, ...]) -> str:
    with pytest.raises(Rejected) as caught:
        StandardWebhooksVerifier(secrets).verify(body, headers)
    return caught.value.reason


def test_the_specifications_example_key_pair_and_signature_hold() -> None:
    """The independent recipe, the vector, and what `send standard --secret whsk_…` signs agree."""
    seed = base64.b64decode(SPEC_SECRET_KEY.removeprefix("whsk_"))[:32]
    key = Ed25519PrivateKey.from_private_bytes(seed)
    assert whpk(key) == SPEC_PUBLIC_KEY
    assert v1a(key, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    sent = samples.standard_headers(SPEC_BODY, SPEC_SECRET_KEY, message_id=SPEC_ID, timestamp=SPEC_TIMESTAMP)
    assert sent["webhook-signature"] == SPEC_SIGNATURE
    assert samples.standard_public_key(SPEC_SECRET_KEY) == SPEC_PUBLIC_KEY


def test_the_specifications_example_verifies_but_for_its_age() -> None:
    headers = Headers(
        {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP), "webhook-signature": SPEC_SIGNATURE}
    )
    verifier = StandardWebhooksVerifier((SPEC_PUBLIC_KEY,), tolerance=1e10)  # the example is from 2021
    body = SPEC_BODY.replace(b"{", b'{"type": "test.event", ', 1)
    assert reason(body, headers, (SPEC_PUBLIC_KEY,)) == "signature_expired"
    with pytest.raises(Rejected) as caught:
        verifier.verify(body, headers)
    assert caught.value.reason == "signature_invalid"  # a changed body: the vector is not taken blindly


def test_a_v1a_delivery_is_stored_under_its_id_and_type() -> None:
    key = new_key()
    event = StandardWebhooksVerifier((whpk(key),)).verify(BODY, signed(key))
    assert (event.event_id, event.event_type, event.payload) == ("msg_1", "invoice.paid", BODY.decode())


def test_svix_header_names_carry_v1a_too() -> None:
    key = new_key()
    assert StandardWebhooksVerifier((whpk(key),)).verify(BODY, signed(key, prefix="svix")).event_id == "msg_1"


def test_forged_wrong_key_and_stale_are_refused() -> None:
    key, other = new_key(), new_key()
    assert reason(BODY, signed(other), (whpk(key),)) == "signature_invalid"
    assert reason(BODY.replace(b"inv_1", b"inv_2"), signed(key), (whpk(key),)) == "signature_invalid"
    assert reason(BODY, signed(key, timestamp=int(time.time()) - 3600), (whpk(key),)) == "signature_expired"
    headers = signed(key)
    headers["webhook-id"] = "msg_2"  # the id is signed
    assert reason(BODY, headers, (whpk(key),)) == "signature_invalid"
    # A v1a signature is no HMAC: an endpoint holding only a whsec_ secret finds nothing to check.
    assert reason(BODY, signed(key), (HMAC_SECRET,)) == "signature_malformed"


def test_any_key_of_a_rotation_verifies() -> None:
    old, new = new_key(), new_key()
    for key in (old, new):
        assert StandardWebhooksVerifier((whpk(old), whpk(new))).verify(BODY, signed(key)).event_id == "msg_1"


def test_mixed_v1_and_v1a_lists_need_one_match_of_what_the_endpoint_holds() -> None:
    key, stamp = new_key(), int(time.time())
    hmac_entry = samples.standard_headers(BODY, HMAC_SECRET, message_id="msg_1", timestamp=stamp)["webhook-signature"]
    forged_hmac = "v1," + base64.b64encode(bytes(32)).decode()
    forged_v1a = "v1a," + base64.b64encode(bytes(64)).decode()

    def header(*entries: str) -> Headers:
        return Headers({"webhook-id": "msg_1", "webhook-timestamp": str(stamp), "webhook-signature": " ".join(entries)})

    good_v1a = v1a(key, "msg_1", stamp, BODY)
    verify = StandardWebhooksVerifier
    assert verify((whpk(key),)).verify(BODY, header(forged_hmac, good_v1a)).event_id == "msg_1"
    assert verify((HMAC_SECRET,)).verify(BODY, header(hmac_entry, forged_v1a)).event_id == "msg_1"
    assert verify((HMAC_SECRET, whpk(key))).verify(BODY, header(forged_hmac, good_v1a)).event_id == "msg_1"
    assert verify((HMAC_SECRET, whpk(key))).verify(BODY, header(hmac_entry, forged_v1a)).event_id == "msg_1"
    assert reason(BODY, header(forged_hmac, forged_v1a), (HMAC_SECRET, whpk(key))) == "signature_invalid"
    # A key-only endpoint never uses a v1 entry, however right it is for some secret.
    assert reason(BODY, header(hmac_entry), (whpk(key),)) == "signature_malformed"


@pytest.mark.parametrize(
    "value",
    [
        "v1a,not-base64!",
        "v1a," + base64.b64encode(bytes(63)).decode(),
        "v1a," + base64.b64encode(bytes(65)).decode(),
        "v1a,",
        "v1a,\x00",
        "v1a,AAAA\x00AAAA",
        "v1a," + "A" * 100_000,
        "v1a",
        "v1a,a,b",
    ],
)
def test_malformed_v1a_entries_say_so(value: str) -> None:
    key = new_key()
    headers = signed(key)
    headers["webhook-signature"] = value
    assert reason(BODY, headers, (whpk(key),)) in {"signature_malformed", "signature_missing"}


@pytest.mark.parametrize("timestamp", ["9" * 5000, "-1", "1e9", "\x00", "1614265330\x00"])
def test_hostile_timestamps_are_refused_before_any_key_is_used(timestamp: str) -> None:
    key = new_key()
    headers = signed(key)
    headers["webhook-timestamp"] = timestamp
    assert reason(BODY, headers, (whpk(key),)) == "signature_malformed"


@pytest.mark.parametrize(
    "value",
    [
        "whpk_",
        "whpk_not-base64!",
        "whpk_" + base64.b64encode(bytes(31)).decode(),
        "whpk_" + base64.b64encode(bytes(33)).decode(),
        "whpk_" + "A" * 5000,
        "whpk_AAAA\x00",
    ],
)
def test_a_public_key_that_is_not_one_stops_the_start_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_secrets((value,), "STANDARD_WEBHOOKS_SECRET")
    message = str(caught.value)
    assert message.startswith("STANDARD_WEBHOOKS_SECRET") and "32-byte Ed25519 public key" in message
    assert value.removeprefix("whpk_") not in message or value == "whpk_"  # never the value itself


def test_send_signs_with_a_private_key_and_refuses_a_public_one() -> None:
    key = new_key()
    secret = "whsk_" + base64.b64encode(key.private_bytes_raw() + key.public_key().public_bytes_raw()).decode()
    sample = samples.signed_sample("standard", secret, "invoice.paid")
    assert (
        StandardWebhooksVerifier((whpk(key),)).verify(sample.body, Headers(sample.headers)).event_id == sample.event_id
    )
    with pytest.raises(ValueError, match="whsk_"):
        samples.signed_sample("standard", whpk(key), "invoice.paid")
    for broken in ("whsk_bad", "whsk_" + base64.b64encode(bytes(33)).decode(), "whsk_\x00"):
        with pytest.raises(ValueError, match="32 or 64 bytes"):
            samples.signed_sample("standard", broken, "invoice.paid")
    mismatched = "whsk_" + base64.b64encode(key.private_bytes_raw() + bytes(32)).decode()
    with pytest.raises(ValueError, match="second half"):
        samples.signed_sample("standard", mismatched, "invoice.paid")
