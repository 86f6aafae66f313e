"""The Slack scheme, with deliveries signed by tests/signers.py (Slack's documented algorithm)."""

from __future__ import annotations

import json
import time

import pytest
from werkzeug.datastructures import Headers

from tests import signers
from webhook_server.schemes import Handshake, Rejected
from webhook_server.schemes.slack import SlackVerifier

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
EVENT = {
    "type": "event_callback",
    "team_id": "T061EG9RZ",
    "event_id": "Ev0PV52K21",
    "event_time": 1700000000,
    "event": {"type": "app_mention", "user": "U061F7AUR", "text": "hi"},
}


def signed(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> Headers:
    return Headers(signers.slack(body, secret, timestamp=timestamp))


def verify(body: bytes, headers: Headers, secrets: tuple[str, ...] = (SECRET,)):
    return SlackVerifier(secrets).verify(body, headers)


def reason(body: bytes, headers: Headers, secrets: tuple[str, ...] = (SECRET,)) -> str:
    with pytest.raises(Rejected) as caught:
        verify(body, headers, secrets)
    return caught.value.reason


def test_the_documented_example_verifies() -> None:
    """Slack's "Verifying requests" page: its secret, timestamp, body and signature."""
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = signers.slack(body, SECRET, timestamp=1531420618)
    assert headers["X-Slack-Signature"] == "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_an_event_callback_yields_its_event_id_and_inner_type() -> None:
    body = json.dumps(EVENT).encode()
    verified = verify(body, signed(body))
    assert (verified.event_id, verified.event_type) == ("Ev0PV52K21", "app_mention")
    assert verified.payload == body.decode()


def test_url_verification_is_a_handshake_echoing_the_challenge() -> None:
    body = json.dumps(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}
    )
    result = verify(body.encode(), signed(body.encode()))
    assert result == Handshake({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})


def test_an_unsigned_url_verification_is_refused() -> None:
    body = json.dumps({"challenge": "abc", "type": "url_verification"}).encode()
    assert reason(body, signed(body, secret="not-ours")) == "signature_invalid"


def test_an_envelope_without_event_id_falls_back_to_the_body_hash_and_outer_type() -> None:
    body = json.dumps({"type": "app_rate_limited", "team_id": "T1", "minute_rate_limited": 1518467820}).encode()
    first = verify(body, signed(body))
    assert first.event_type == "app_rate_limited"
    assert first.event_id.startswith("sha256:")
    assert verify(body, signed(body)).event_id == first.event_id


def test_any_configured_secret_verifies_during_a_rotation() -> None:
    body = json.dumps(EVENT).encode()
    for secret in ("old", "new"):
        assert verify(body, signed(body, secret), ("old", "new")).event_id == "Ev0PV52K21"


@pytest.mark.parametrize("offset", [-301 - 5, 301 + 5])
def test_timestamps_outside_five_minutes_are_refused_both_ways(offset: int) -> None:
    body = json.dumps(EVENT).encode()
    assert reason(body, signed(body, timestamp=int(time.time()) + offset)) == "signature_expired"


def test_the_timestamp_is_part_of_the_signed_text() -> None:
    body = json.dumps(EVENT).encode()
    headers = signed(body)
    headers["X-Slack-Request-Timestamp"] = str(int(headers["X-Slack-Request-Timestamp"]) - 1)
    assert reason(body, headers) == "signature_invalid"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("X-Slack-Signature", "", "signature_missing"),
        ("X-Slack-Request-Timestamp", "", "signature_missing"),
        ("X-Slack-Request-Timestamp", "1e9", "signature_malformed"),
        ("X-Slack-Request-Timestamp", "-5", "signature_malformed"),
        ("X-Slack-Request-Timestamp", "9" * 40, "signature_malformed"),
        ("X-Slack-Signature", "v1=" + "ab" * 32, "signature_malformed"),
        ("X-Slack-Signature", "v0=" + "ab" * 31, "signature_malformed"),
        ("X-Slack-Signature", "v0=" + "ab" * 32, "signature_invalid"),
    ],
)
def test_bad_headers_say_what_is_wrong(name: str, value: str, expected: str) -> None:
    body = json.dumps(EVENT).encode()
    headers = signed(body)
    headers[name] = value
    assert reason(body, headers) == expected


def test_a_form_encoded_request_is_refused_with_a_pointer_to_the_events_api() -> None:
    body = b"command=%2Fweather&text=94070"
    headers = signed(body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    with pytest.raises(Rejected) as caught:
        verify(body, headers)
    assert caught.value.reason == "body_not_json"
    assert "Events API" in str(caught.value)


@pytest.mark.parametrize(
    "document",
    [
        {"event_id": "Ev1", "event": {"type": 3}},
        {"event_id": 7, "type": "event_callback"},
        {"type": "url_verification"},
    ],
)
def test_envelopes_without_a_usable_identity_are_malformed(document: dict) -> None:
    body = json.dumps(document).encode()
    assert reason(body, signed(body)) == "event_malformed"
