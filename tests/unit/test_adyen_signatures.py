"""The Adyen scheme against Adyen's own code: the Adyen library's ``generate_notification_sig``
signs the notifications the verifier must accept, and ``is_valid_hmac_notification`` validates
what `send adyen` signs."""

from __future__ import annotations

import contextlib
import json

import pytest
from Adyen.util import generate_notification_sig, is_valid_hmac_notification
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from webhook_server.dev.senders import adyen as adyen_sender
from webhook_server.errors import ConfigError
from webhook_server.schemes import Rejected
from webhook_server.schemes.adyen import AdyenVerifier

KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
OTHER_KEY = "11" * 32


def sdk_signed(item: dict, key: str = KEY) -> bytes:
    signature = generate_notification_sig(item, key).decode()
    signed = item | {"additionalData": {"hmacSignature": signature}}
    return json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": signed}]}).encode()


def verify(body: bytes, keys: tuple[str, ...] = (KEY,)):
    return AdyenVerifier(keys).verify(body, Headers({"Content-Type": "application/json"}))


def reason(body: bytes) -> str:
    with pytest.raises(Rejected) as caught:
        verify(body)
    return caught.value.reason


def test_a_notification_signed_by_the_adyen_library_is_stored_under_its_psp_reference() -> None:
    event = verify(sdk_signed(adyen_sender.notification("AUTHORISATION", "7914073381342284")))
    assert (event.event_id, event.event_type) == ("7914073381342284:AUTHORISATION:true", "AUTHORISATION")


def test_what_send_signs_is_valid_to_the_adyen_library() -> None:
    for event_type in adyen_sender.TYPES:
        sample = adyen_sender.sample(KEY, event_type, None, "")
        assert is_valid_hmac_notification(json.loads(sample.body), KEY)
        event = verify(sample.body)
        assert (event.event_id, event.event_type) == (sample.event_id, event_type)


def test_forged_altered_and_unsigned_notifications_are_refused() -> None:
    item = adyen_sender.notification("REFUND", "8815")
    assert reason(sdk_signed(item, OTHER_KEY)) == "signature_invalid"
    signed = json.loads(sdk_signed(item))
    signed["notificationItems"][0]["NotificationRequestItem"]["amount"]["value"] = 1
    assert reason(json.dumps(signed).encode()) == "signature_invalid"
    del signed["notificationItems"][0]["NotificationRequestItem"]["additionalData"]
    assert reason(json.dumps(signed).encode()) == "signature_missing"
    assert reason(b'{"live": "false", "notificationItems": []}') == "event_malformed"
    assert reason(b'{"notificationItems": [{"NotificationRequestItem": {"success": "true"}}]}') == "event_malformed"
    assert reason(b"[1]") == "body_not_json"


def test_every_item_of_a_delivery_must_verify() -> None:
    good = json.loads(sdk_signed(adyen_sender.notification("CAPTURE", "1")))["notificationItems"]
    bad = json.loads(sdk_signed(adyen_sender.notification("CAPTURE", "2"), OTHER_KEY))["notificationItems"]
    assert verify(json.dumps({"notificationItems": good + good}).encode()).event_id.startswith("sha256:")
    assert reason(json.dumps({"notificationItems": good + bad}).encode()) == "signature_invalid"


@pytest.mark.parametrize("value", ["", "not hex", "abc"])
def test_a_key_that_is_not_hex_stops_the_start(value: str) -> None:
    with pytest.raises(ConfigError, match="PAYMENTS_HMAC_KEY"):
        AdyenVerifier((value,), variable="PAYMENTS_HMAC_KEY")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(item=st.dictionaries(st.sampled_from(["amount", "pspReference", "additionalData", "success"]), json_values))
def test_any_notification_is_an_event_or_a_refusal(item: dict) -> None:
    body = json.dumps({"notificationItems": [{"NotificationRequestItem": item}]}).encode()
    with contextlib.suppress(Rejected):  # anything else fails the test
        verify(body)
