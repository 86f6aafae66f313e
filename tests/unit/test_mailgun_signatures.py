"""The Mailgun scheme against Mailgun's own code: mailgun's ``SecurityGuard.verify_webhook``
accepts what `send mailgun` signs, and the verifier accepts it too."""

from __future__ import annotations

import contextlib
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mailgun.security import SecurityGuard
from werkzeug.datastructures import Headers

from webhook_server.dev.senders import mailgun as mailgun_sender
from webhook_server.schemes import Rejected
from webhook_server.schemes.mailgun import MailgunVerifier

KEY = "key-7e55d003b5e1ff2bb8a6c1e2ab4a1b28"


def verify(body: bytes):
    return MailgunVerifier((KEY,)).verify(body, Headers({"Content-Type": "application/json"}))


def reason(body: bytes) -> str:
    with pytest.raises(Rejected) as caught:
        verify(body)
    return caught.value.reason


def test_what_send_signs_is_valid_to_mailguns_sdk() -> None:
    for event_type in mailgun_sender.TYPES:
        sample = mailgun_sender.sample(KEY, event_type, None, "")
        signed = json.loads(sample.body)["signature"]
        assert SecurityGuard.verify_webhook(KEY, signed["token"], signed["timestamp"], signed["signature"])
        event = verify(sample.body)
        assert (event.event_id, event.event_type) == (sample.event_id, event_type)


def test_forged_stale_and_malformed_signatures_are_refused() -> None:
    document = json.loads(mailgun_sender.sample(KEY, "delivered", "ev-1", "").body)
    assert reason(json.dumps(document | {"signature": mailgun_sender.signature("another")}).encode()) == (
        "signature_invalid"
    )
    stale = mailgun_sender.signature(KEY, timestamp=int(time.time()) - 3600)
    assert not SecurityGuard.verify_webhook(KEY, stale["token"], stale["timestamp"], stale["signature"])
    assert reason(json.dumps(document | {"signature": stale}).encode()) == "signature_expired"
    forged_token = document["signature"] | {"token": "0" * 50}
    assert reason(json.dumps(document | {"signature": forged_token}).encode()) == "signature_invalid"
    assert reason(json.dumps({"event-data": document["event-data"]}).encode()) == "signature_missing"
    assert reason(json.dumps(document | {"signature": {"timestamp": 1, "token": "t"}}).encode()) == (
        "signature_malformed"
    )
    assert reason(json.dumps({"signature": document["signature"]}).encode()) == "event_malformed"


json_values = st.none() | st.booleans() | st.integers() | st.text(max_size=30)


@settings(max_examples=200, deadline=None)
@given(signed=st.dictionaries(st.sampled_from(["timestamp", "token", "signature"]), json_values), event=json_values)
def test_any_body_is_an_event_or_a_refusal(signed: dict, event: object) -> None:
    body = json.dumps({"signature": signed, "event-data": event}).encode()
    with contextlib.suppress(Rejected):  # anything else fails the test
        verify(body)
