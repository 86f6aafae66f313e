"""The Twilio scheme against Twilio's own code: twilio-python's RequestValidator signs the
deliveries the verifier must accept, and validates what `send twilio` signs."""

from __future__ import annotations

import contextlib
import hashlib
import json
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import Headers

from webhook_server.dev.senders import twilio as twilio_sender
from webhook_server.schemes import Rejected
from webhook_server.schemes.base import RequestUrl, VerifiedEvent
from webhook_server.schemes.bodies import as_object
from webhook_server.schemes.twilio import TwilioVerifier

TOKEN = "12345"
URL = RequestUrl("https", "mycompany.com", "/myapp.php?foo=1&bar=2")
# Twilio's "Webhooks security" page: this URL, these parameters and the Auth Token 12345.
DOCUMENTED = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
DOCUMENTED_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
MESSAGE = {
    "MessageSid": "SM0123456789abcdef0123456789abcdef",
    "SmsSid": "SM0123456789abcdef0123456789abcdef",
    "SmsStatus": "received",
    "AccountSid": "AC0123456789abcdef0123456789abcdef",
    "From": "+14155550100",
    "To": "+15005550006",
    "Body": "Grüße & 100% ✓ a=b",
    "NumMedia": "0",
    "ToCity": "",
}


def verify(body: bytes, headers: dict[str, str], url: RequestUrl | None = URL, secrets: tuple[str, ...] = (TOKEN,)):
    return TwilioVerifier(secrets).verify(body, Headers(headers), url)


def reason(body: bytes, headers: dict[str, str], url: RequestUrl | None = URL, **kwargs: tuple[str, ...]) -> str:
    with pytest.raises(Rejected) as caught:
        verify(body, headers, url, **kwargs)
    return caught.value.reason


def form(fields: dict[str, str], url: RequestUrl = URL, token: str = TOKEN, **headers: str) -> tuple[bytes, dict]:
    """A form delivery signed by twilio-python, as Twilio would post it to ``url``."""
    signature = RequestValidator(token).compute_signature(str(url), fields)
    return urlencode(fields).encode(), {"X-Twilio-Signature": signature, **headers}


def test_the_documented_example_verifies() -> None:
    body, headers = form(DOCUMENTED)
    assert headers["X-Twilio-Signature"] == DOCUMENTED_SIGNATURE
    event = verify(body, headers)
    assert isinstance(event, VerifiedEvent)
    assert event.event_type == "twilio"  # a CallSid, but no CallStatus to name the type


def test_a_message_signed_by_twilio_python_is_stored_as_its_form() -> None:
    body, headers = form(MESSAGE, **{"I-Twilio-Idempotency-Token": "e7a3b1c0-idem"})
    event = verify(body, headers)
    assert isinstance(event, VerifiedEvent)
    assert (event.event_id, event.event_type, event.payload) == ("e7a3b1c0-idem", "message.received", body.decode())
    assert event.document is not None and json.loads(event.document) == MESSAGE == as_object(body)


def test_the_type_comes_from_the_status_fields() -> None:
    status = {"MessageSid": "SM1", "MessageStatus": "delivered", "SmsStatus": "delivered"}
    call = {"CallSid": "CA1", "CallStatus": "completed"}
    assert verify(*form(status)).event_type == "message.delivered"
    assert verify(*form(call)).event_type == "call.completed"


def test_without_an_idempotency_token_the_id_is_the_body_hash() -> None:
    body, headers = form(MESSAGE)
    assert verify(body, headers).event_id == "sha256:" + hashlib.sha256(body).hexdigest()


def test_a_repeated_field_is_signed_and_stored_with_all_its_values() -> None:
    """twilio-python signs each value of a repeated name (a MultiDict), sorted."""

    class MultiDict(dict):
        def getall(self, name: str) -> list[str]:
            return ["b", "a"] if name == "Tag" else [self[name]]

    fields = MultiDict(From="+1", Tag="b")
    signature = RequestValidator(TOKEN).compute_signature(str(URL), fields)
    body = b"From=%2B1&Tag=b&Tag=a"
    event = verify(body, {"X-Twilio-Signature": signature})
    assert json.loads(event.document) == {"From": "+1", "Tag": ["b", "a"]}


def test_sha256_shared_key_signatures_verify() -> None:
    settings_header = "key=webhooks_sharedkey_0123,algorithm=HMAC_SHA256"
    signature = RequestValidator("shared-secret").compute_signature(str(URL), MESSAGE, "HMAC_SHA256")
    headers = {"X-Twilio-Signature": signature, "X-Twilio-Webhooks-Signature-Settings": settings_header}
    assert verify(urlencode(MESSAGE).encode(), headers, secrets=("shared-secret",)).event_type == "message.received"
    assert reason(urlencode(MESSAGE).encode(), {"X-Twilio-Signature": signature}, secrets=("shared-secret",)) == (
        "signature_malformed"  # a SHA-1 signature is 20 bytes, this one 32
    )


def test_a_json_body_is_verified_through_the_body_hash_in_the_url() -> None:
    """Twilio's JSON requests: bodySHA256 in the query, the URL signed alone (twilio-python's
    validate takes the body as a string then)."""
    body = json.dumps({"specversion": "1.0", "type": "com.twilio.messaging.message.delivered", "id": "CE1"}).encode()
    url = RequestUrl("https", "example.com", f"/webhooks/twilio?bodySHA256={hashlib.sha256(body).hexdigest()}")
    signature = RequestValidator(TOKEN).compute_signature(str(url), {})
    assert RequestValidator(TOKEN).validate(str(url), body.decode(), signature)
    event = verify(body, {"X-Twilio-Signature": signature, "Content-Type": "application/json"}, url)
    assert (event.event_type, event.document) == ("com.twilio.messaging.message.delivered", None)

    batch = b"[" + body + b"," + body + b"]"
    url = RequestUrl("https", "example.com", f"/webhooks/twilio?bodySHA256={hashlib.sha256(batch).hexdigest()}")
    event = verify(batch, {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(str(url), {})}, url)
    assert json.loads(event.document) == as_object(batch) == {"events": [json.loads(body)] * 2}

    other = body.replace(b"CE1", b"CE2")
    assert reason(other, {"X-Twilio-Signature": signature}, url) == "signature_invalid"


@pytest.mark.parametrize(
    ("signed_url", "received"),
    [
        ("https://example.com:443/webhooks/twilio", RequestUrl("https", "example.com", "/webhooks/twilio")),
        ("https://example.com/webhooks/twilio", RequestUrl("https", "example.com:443", "/webhooks/twilio")),
        ("https://example.com/webhooks/twilio", RequestUrl("https", "example.com:8443", "/webhooks/twilio")),
        ("http://example.com:80/webhooks/twilio", RequestUrl("http", "example.com", "/webhooks/twilio")),
    ],
)
def test_the_url_verifies_with_and_without_its_port_as_twilio_python_does(
    signed_url: str, received: RequestUrl
) -> None:
    signature = RequestValidator(TOKEN).compute_signature(signed_url, MESSAGE)
    assert RequestValidator(TOKEN).validate(str(received), MESSAGE, signature)
    assert verify(urlencode(MESSAGE).encode(), {"X-Twilio-Signature": signature}, received).event_type


def test_what_send_signs_is_valid_to_twilio_python() -> None:
    for event_type in twilio_sender.BODIES:
        sample = twilio_sender.sample(TOKEN, event_type, None, str(URL))
        fields = dict(as_object(sample.body))
        assert RequestValidator(TOKEN).validate(str(URL), fields, sample.headers["X-Twilio-Signature"])
        event = verify(sample.body, sample.headers)
        assert (
            (event.event_id, event.event_type)
            == (sample.event_id, event_type)
            == (
                sample.event_id,
                sample.event_type,
            )
        )


@pytest.mark.parametrize(
    "received",
    [
        RequestUrl("http", "mycompany.com", "/myapp.php?foo=1&bar=2"),  # the proxy's scheme was lost
        RequestUrl("https", "mycompany.com", "/myapp.php?foo=1&bar=3"),
        RequestUrl("https", "mycompany.com", "/myapp.php?bar=2&foo=1"),
        RequestUrl("https", "mycompany.com", "/myapp.php"),
        RequestUrl("https", "attacker.example", "/myapp.php?foo=1&bar=2"),
        RequestUrl("https", "mycompany.com:8443", "/other?foo=1&bar=2"),
        RequestUrl("https", "mycompany.com:x", "/myapp.php?foo=1&bar=2"),
    ],
)
def test_another_url_is_refused(received: RequestUrl) -> None:
    body, headers = form(MESSAGE)
    assert reason(body, headers, received) == "signature_invalid"


def test_forged_missing_and_malformed_signatures_are_refused() -> None:
    body, headers = form(MESSAGE)
    assert reason(body, headers, secrets=("another-token",)) == "signature_invalid"
    assert reason(body, {}) == "signature_missing"
    assert reason(body, {"X-Twilio-Signature": "not base64!"}) == "signature_malformed"
    assert reason(body, {"X-Twilio-Signature": "AAAA"}) == "signature_malformed"
    assert reason(body + b"&Extra=1", headers) == "signature_invalid"
    assert reason(body, headers | {"X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_MD5"}) == (
        "signature_malformed"
    )
    assert reason(body, headers, url=None) == "url_unknown"


def test_rotation_accepts_either_token() -> None:
    body, headers = form(MESSAGE, token="new-token")
    assert verify(body, headers, secrets=("old-token", "new-token")).event_type == "message.received"


@pytest.mark.parametrize("body", [b"a=%ff", b"a=1&&b", b"\xff=1", b"x" * 10 + b"&y"])
def test_a_signed_body_that_is_not_a_form_is_refused(body: bytes) -> None:
    signature = RequestValidator(TOKEN).compute_signature(str(URL), {})
    assert reason(body, {"X-Twilio-Signature": signature}) in {"body_not_form", "body_not_utf8"}


def test_a_repeated_idempotency_token_is_refused() -> None:
    body, headers = form(MESSAGE, **{"I-Twilio-Idempotency-Token": "a, b"})
    assert reason(body, headers) == "header_malformed"


# What a header value can be once gunicorn has read it: anything but a line break.
header_values = st.text(st.characters(exclude_characters="\r\n"), max_size=80)


@settings(max_examples=300, deadline=None)
@given(
    signature=header_values,
    settings_header=header_values,
    host=st.text(max_size=40),
    target=st.text(max_size=80),
    body=st.binary(max_size=300),
)
def test_any_input_is_an_event_or_a_refusal(
    signature: str, settings_header: str, host: str, target: str, body: bytes
) -> None:
    headers = {"X-Twilio-Signature": signature, "X-Twilio-Webhooks-Signature-Settings": settings_header}
    with contextlib.suppress(Rejected):  # anything else (a TypeError, an IndexError) fails the test
        verify(body, headers, RequestUrl("https", host, target))
