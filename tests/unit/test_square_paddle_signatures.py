"""Square and Paddle against their SDKs, which only verify: squareup's ``verify_signature`` and
paddle-python-sdk's ``Verifier`` must accept what `send square` and `send paddle` sign, and
deliveries signed with Paddle's own ``calculate_hmac`` must verify here."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paddle_billing.Notifications import Secret, Verifier
from paddle_billing.Notifications.PaddleSignature import PaddleSignature
from square.utils.webhooks_helper import verify_signature
from werkzeug.datastructures import Headers

from webhook_server.dev.senders import paddle as paddle_sender
from webhook_server.dev.senders import square as square_sender
from webhook_server.schemes import Rejected
from webhook_server.schemes.base import RequestUrl
from webhook_server.schemes.paddle import PaddleVerifier
from webhook_server.schemes.square import SquareVerifier

SQUARE_KEY = "asdf1234-square-signature-key"
URL = RequestUrl("https", "webhooks.example.com", "/webhooks/square")
PADDLE_SECRET = "pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI"


@dataclass
class PaddleRequest:
    """What paddle-python-sdk's Verifier reads of a request: its headers and body."""

    headers: dict[str, str]
    body: bytes


def square_reason(body: bytes, headers: dict[str, str], url: RequestUrl | None = URL) -> str:
    with pytest.raises(Rejected) as caught:
        SquareVerifier((SQUARE_KEY,)).verify(body, Headers(headers), url)
    return caught.value.reason


def paddle_reason(body: bytes, headers: dict[str, str]) -> str:
    with pytest.raises(Rejected) as caught:
        PaddleVerifier((PADDLE_SECRET,)).verify(body, Headers(headers))
    return caught.value.reason


def test_what_send_square_signs_is_valid_to_squareup() -> None:
    for event_type in square_sender.TYPES:
        sample = square_sender.sample(SQUARE_KEY, event_type, None, str(URL))
        signature = sample.headers["x-square-hmacsha256-signature"]
        assert verify_signature(
            request_body=sample.body.decode(),
            signature_header=signature,
            signature_key=SQUARE_KEY,
            notification_url=str(URL),
        )
        event = SquareVerifier((SQUARE_KEY,)).verify(sample.body, Headers(sample.headers), URL)
        assert (event.event_id, event.event_type) == (sample.event_id, event_type)


def test_square_refuses_another_url_key_or_body() -> None:
    sample = square_sender.sample(SQUARE_KEY, "payment.updated", None, str(URL))
    assert square_reason(sample.body, sample.headers, RequestUrl("http", URL.host, URL.target)) == "signature_invalid"
    assert square_reason(sample.body, sample.headers, RequestUrl("https", URL.host, "/webhooks/square?x")) == (
        "signature_invalid"
    )
    other = square_sender.sample("another-key", "payment.updated", None, str(URL))
    assert square_reason(other.body, other.headers) == "signature_invalid"
    assert square_reason(sample.body + b" ", sample.headers) == "signature_invalid"
    assert square_reason(sample.body, {}) == "signature_missing"
    assert square_reason(sample.body, sample.headers, url=None) == "url_unknown"


def paddle_signed(document: dict, secret: str = PADDLE_SECRET, timestamp: int | None = None):
    """Signed with paddle-python-sdk's own HMAC helper."""
    body = json.dumps(document).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = PaddleSignature.calculate_hmac(secret, f"{stamp}:{body.decode()}".encode()).hexdigest()
    return body, {"Paddle-Signature": f"ts={stamp};h1={digest}"}


def test_what_send_paddle_signs_is_valid_to_paddles_verifier() -> None:
    for event_type in paddle_sender.TYPES:
        sample = paddle_sender.sample(PADDLE_SECRET, event_type, None, "")
        assert Verifier().verify(PaddleRequest(sample.headers, sample.body), Secret(PADDLE_SECRET))
        event = PaddleVerifier((PADDLE_SECRET,)).verify(sample.body, Headers(sample.headers))
        assert (event.event_id, event.event_type) == (sample.event_id, event_type)


def test_paddle_accepts_its_sdks_signature_and_a_rotation() -> None:
    document = {"event_id": "evt_01h8", "event_type": "transaction.paid", "data": {}}
    body, headers = paddle_signed(document)
    assert PaddleVerifier((PADDLE_SECRET,)).verify(body, Headers(headers)).event_id == "evt_01h8"
    _, old = paddle_signed(document, "pdl_ntfset_old")
    rotated = {"Paddle-Signature": headers["Paddle-Signature"] + ";h1=" + old["Paddle-Signature"].split("h1=")[1]}
    assert PaddleVerifier(("pdl_ntfset_old",)).verify(body, Headers(rotated)).event_type == "transaction.paid"


def test_paddle_refuses_forged_late_and_malformed_signatures() -> None:
    document = {"event_id": "evt_1", "event_type": "transaction.paid", "data": {}}
    body, headers = paddle_signed(document)
    assert paddle_reason(*paddle_signed(document, "pdl_ntfset_other")) == "signature_invalid"
    assert paddle_reason(*paddle_signed(document, timestamp=int(time.time()) - 60)) == "signature_expired"
    assert paddle_reason(body, {"Paddle-Signature": headers["Paddle-Signature"].replace("ts=", "t=")}) == (
        "signature_malformed"
    )
    assert paddle_reason(body, {"Paddle-Signature": headers["Paddle-Signature"].split(";")[0]}) == "signature_malformed"
    assert paddle_reason(body, {}) == "signature_missing"


header_values = st.text(st.characters(exclude_characters="\r\n"), max_size=120)


@settings(max_examples=300, deadline=None)
@given(value=header_values, body=st.binary(max_size=300), target=st.text(max_size=60))
def test_any_input_is_an_event_or_a_refusal(value: str, body: bytes, target: str) -> None:
    with contextlib.suppress(Rejected):  # anything else fails the test
        PaddleVerifier((PADDLE_SECRET,)).verify(body, Headers({"Paddle-Signature": value}))
    with contextlib.suppress(Rejected):
        headers = {"x-square-hmacsha256-signature": value}
        SquareVerifier((SQUARE_KEY,)).verify(body, Headers(headers), RequestUrl("https", "h", target))
