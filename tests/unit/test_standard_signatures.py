"""The Standard Webhooks scheme, with deliveries signed by tests/signers.py (the specification's recipe)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from standardwebhooks import Webhook
from werkzeug.datastructures import Headers

from tests import signers
from webhook_server.schemes import Rejected
from webhook_server.schemes.standard import StandardWebhooksVerifier

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = json.dumps({"type": "invoice.paid", "timestamp": "2026-11-23T18:00:00Z", "data": {"id": "inv_1"}}).encode()


def signed(
    body: bytes = BODY, secret: str = SECRET, timestamp: int | None = None, message_id: str = "msg_1"
) -> Headers:
    return Headers(signers.standard(body, secret, message_id=message_id, timestamp=timestamp))


def verify(body: bytes, headers: Headers, secrets: tuple[str, ...] = (SECRET,)):
    return StandardWebhooksVerifier(secrets).verify(body, headers)


def reason(body: bytes, headers: Headers, secrets: tuple[str, ...] = (SECRET,)) -> str:
    with pytest.raises(Rejected) as caught:
        verify(body, headers, secrets)
    return caught.value.reason


def test_the_specifications_example_signs_as_documented() -> None:
    """The example of the Standard Webhooks and Svix documentation."""
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = signed(b'{"test": 2432232314}', message_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330)
    assert headers["webhook-signature"] == expected


def test_the_reference_library_accepts_what_the_tests_sign() -> None:
    assert Webhook(SECRET).verify(BODY, dict(signed())) == json.loads(BODY)


def test_a_signed_message_yields_the_message_id_the_payload_type_and_the_exact_text() -> None:
    verified = verify(BODY, signed(message_id="msg_2Lh9KRb0pzN4LePd3XiA4v12Axj"))
    assert (verified.event_id, verified.event_type) == ("msg_2Lh9KRb0pzN4LePd3XiA4v12Axj", "invoice.paid")
    assert verified.payload == BODY.decode()


def test_any_configured_secret_verifies_during_a_rotation() -> None:
    old, new = "whsec_" + base64.b64encode(b"o" * 24).decode(), "whsec_" + base64.b64encode(b"n" * 24).decode()
    for secret in (old, new):
        assert verify(BODY, signed(secret=secret), (old, new)).event_type == "invoice.paid"
    assert reason(BODY, signed(), (old, new)) == "signature_invalid"


def test_a_sender_rotating_its_key_sends_several_signatures_and_one_match_is_enough() -> None:
    headers = signed()
    other_secret = "whsec_" + base64.b64encode(b"x" * 24).decode()
    other = signed(secret=other_secret, timestamp=int(headers["webhook-timestamp"]))["webhook-signature"]
    headers["webhook-signature"] = f"{other} v1a,c29tZXRoaW5n {headers['webhook-signature']}"
    assert verify(BODY, headers).event_id == "msg_1"


def test_the_id_and_timestamp_are_part_of_the_signed_text() -> None:
    headers = signed()
    headers["webhook-id"] = "msg_other"
    assert reason(BODY, headers) == "signature_invalid"


@pytest.mark.parametrize("offset", [-306, 306])
def test_timestamps_outside_five_minutes_are_refused_both_ways(offset: int) -> None:
    assert reason(BODY, signed(timestamp=int(time.time()) + offset)) == "signature_expired"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("webhook-signature", "", "signature_missing"),
        ("webhook-timestamp", "", "signature_missing"),
        ("webhook-id", "", "header_missing"),
        ("webhook-id", "msg\x00", "header_malformed"),
        ("webhook-timestamp", "1.5e9", "signature_malformed"),
        ("webhook-signature", "v1", "signature_malformed"),
        ("webhook-signature", "v1,abc,def", "signature_malformed"),
        ("webhook-signature", ",abc", "signature_malformed"),
        ("webhook-signature", "v1,not-base64!", "signature_malformed"),
        ("webhook-signature", "v1," + base64.b64encode(b"short").decode(), "signature_malformed"),
        ("webhook-signature", "v1a,c29tZXRoaW5n", "signature_malformed"),
        ("webhook-signature", "v1," + base64.b64encode(bytes(32)).decode(), "signature_invalid"),
    ],
)
def test_bad_headers_say_what_is_wrong(name: str, value: str, expected: str) -> None:
    headers = signed()
    headers[name] = value
    assert reason(BODY, headers) == expected


def test_a_payload_without_a_type_is_malformed() -> None:
    body = b'{"data": {}}'
    assert reason(body, signed(body)) == "event_malformed"
    assert reason(b"[]", signed(b"[]")) == "body_not_json"
