"""The SendGrid scheme. SendGrid's SDK only verifies, so deliveries are signed with a P-256 key
made here, and sendgrid-python's own ``EventWebhook.verify_signature`` must accept what `send
sendgrid` signs: signer and verifier both match SendGrid's code."""

from __future__ import annotations

import base64
import contextlib
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader
from werkzeug.datastructures import Headers

from webhook_server.dev.senders import sendgrid as sendgrid_sender
from webhook_server.errors import ConfigError
from webhook_server.schemes import Rejected, VerifiedEvent
from webhook_server.schemes.bodies import as_object
from webhook_server.schemes.sendgrid import SendGridVerifier

PRIVATE = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"
PUBLIC = sendgrid_sender.public_key(PRIVATE)
BATCH = [
    {"email": "a@example.com", "timestamp": 1700000000, "event": "delivered", "sg_event_id": "ZGVsaXZlcmVk"},
    {"email": "b@example.com", "timestamp": 1700000001, "event": "delivered", "sg_event_id": "ZGVsaXZlcmVl"},
]


def verify(body: bytes, headers: dict[str, str], keys: tuple[str, ...] = (PUBLIC,)):
    return SendGridVerifier(keys).verify(body, Headers(headers))


def reason(body: bytes, headers: dict[str, str], keys: tuple[str, ...] = (PUBLIC,)) -> str:
    with pytest.raises(Rejected) as caught:
        verify(body, headers, keys)
    return caught.value.reason


def signed(events: list, key: str = PRIVATE, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(events).encode()
    return body, sendgrid_sender.headers(body, key, timestamp=timestamp)


def test_what_send_signs_is_valid_to_sendgrid_python() -> None:
    helper = EventWebhook(PUBLIC)
    for event_type in sendgrid_sender.EVENTS:
        sample = sendgrid_sender.sample(PRIVATE, event_type, None, "")
        signature = sample.headers[EventWebhookHeader.SIGNATURE]
        timestamp = sample.headers[EventWebhookHeader.TIMESTAMP]
        assert helper.verify_signature(sample.body.decode(), signature, timestamp)
        event = verify(sample.body, sample.headers)
        assert (event.event_id, event.event_type) == (sample.event_id, event_type)


def test_a_batch_is_stored_once_as_its_events() -> None:
    body, headers = signed(BATCH)
    event = verify(body, headers)
    assert isinstance(event, VerifiedEvent)
    assert event.event_type == "delivered" and event.event_id.startswith("sha256:")
    assert json.loads(event.document) == as_object(body) == {"events": BATCH}
    mixed = [*BATCH, {"email": "c@example.com", "event": "open", "sg_event_id": "b3Blbg"}]
    assert verify(*signed(mixed)).event_type == "batch"


def test_a_signature_sendgrid_python_accepts_is_accepted() -> None:
    """A signature made independently with cryptography (as SendGrid's service would), first
    checked by sendgrid-python, then by the verifier."""
    body = json.dumps(BATCH).encode()
    stamp = str(int(time.time()))
    key = sendgrid_sender.private_key(PRIVATE)
    signature = base64.b64encode(key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    assert EventWebhook(PUBLIC).verify_signature(body.decode(), signature, stamp)
    headers = {EventWebhookHeader.SIGNATURE: signature, EventWebhookHeader.TIMESTAMP: stamp}
    assert verify(body, headers).event_type == "delivered"


def test_forged_and_malformed_signatures_are_refused() -> None:
    body, headers = signed(BATCH)
    assert reason(*signed(BATCH, sendgrid_sender.new_private_key())) == "signature_invalid"
    assert reason(body.replace(b"a@example", b"z@example"), headers) == "signature_invalid"
    stamp = headers[EventWebhookHeader.TIMESTAMP]
    assert reason(body, headers | {EventWebhookHeader.TIMESTAMP: str(int(stamp) + 1)}) == "signature_invalid"
    assert reason(body, {EventWebhookHeader.TIMESTAMP: stamp}) == "signature_missing"
    assert reason(body, headers | {EventWebhookHeader.SIGNATURE: "not base64!"}) == "signature_malformed"
    assert reason(body, headers | {EventWebhookHeader.SIGNATURE: "A" * 200}) == "signature_malformed"
    assert reason(body, headers | {EventWebhookHeader.TIMESTAMP: "1e9"}) == "signature_malformed"
    assert reason(*signed({"event": "delivered"})) == "body_not_json"  # an object, not a batch
    assert reason(*signed([1, 2])) == "body_not_json"


def test_an_old_signature_is_accepted_since_sendgrid_may_retry_it_for_a_day() -> None:
    assert verify(*signed(BATCH, timestamp=int(time.time()) - 20 * 3600)).event_type == "delivered"


@pytest.mark.parametrize("value", ["", "not base64", base64.b64encode(b"\x30\x03\x02\x01\x01").decode()])
def test_a_value_that_is_not_a_p256_public_key_stops_the_start(value: str) -> None:
    with pytest.raises(ConfigError, match="MAIL_KEY"):
        SendGridVerifier((value,), variable="MAIL_KEY")


header_values = st.text(st.characters(exclude_characters="\r\n"), max_size=140)


@settings(max_examples=300, deadline=None)
@given(signature=header_values, timestamp=header_values, body=st.binary(max_size=300))
def test_any_input_is_an_event_or_a_refusal(signature: str, timestamp: str, body: bytes) -> None:
    headers = {EventWebhookHeader.SIGNATURE: signature, EventWebhookHeader.TIMESTAMP: timestamp}
    with contextlib.suppress(Rejected):  # anything else fails the test
        verify(body, headers)
