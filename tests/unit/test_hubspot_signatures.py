"""The HubSpot scheme (signature v3) against HubSpot's own code: hubspot-api-client's Signature
signs the deliveries the verifier must accept, and validates what `send hubspot` signs."""

from __future__ import annotations

import contextlib
import json
import time

import pytest
from hubspot.utils.signature import Signature
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from webhook_server.dev.senders import hubspot as hubspot_sender
from webhook_server.schemes import Rejected
from webhook_server.schemes.base import RequestUrl
from webhook_server.schemes.bodies import as_object
from webhook_server.schemes.hubspot import HubSpotVerifier

SECRET = "0b7c6a2e-5a4c-4b1e-9f0e-hubspot-client-secret"
URL = RequestUrl("https", "webhooks.example.com", "/webhooks/hubspot?portal=62515")


def sdk_signed(events: list, url: str = str(URL), secret: str = SECRET, timestamp_ms: int | None = None):
    """A delivery signed by hubspot-api-client, as HubSpot signs v3."""
    body = json.dumps(events).encode()
    stamp = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    signature = Signature.get_signature(secret, body.decode(), "v3", url, "POST", stamp)
    return body, {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": stamp}


def verify(body: bytes, headers: dict[str, str], url: RequestUrl | None = URL):
    return HubSpotVerifier((SECRET,)).verify(body, Headers(headers), url)


def reason(body: bytes, headers: dict[str, str], url: RequestUrl | None = URL) -> str:
    with pytest.raises(Rejected) as caught:
        verify(body, headers, url)
    return caught.value.reason


def events(*pairs: tuple[int, str], attempt: int = 0) -> list[dict]:
    now = int(time.time() * 1000)
    return [hubspot_sender.event(kind, number, now) | {"attemptNumber": attempt} for number, kind in pairs]


def test_a_batch_signed_by_hubspot_api_client_is_stored_as_its_events() -> None:
    batch = events((1, "contact.creation"), (2, "contact.creation"))
    body, headers = sdk_signed(batch)
    event = verify(body, headers)
    assert event.event_type == "contact.creation" and event.event_id.startswith("hubspot:")
    assert json.loads(event.document) == as_object(body) == {"events": batch}
    assert verify(*sdk_signed(events((1, "contact.creation"), (3, "deal.creation")))).event_type == "batch"


def test_a_retried_batch_has_the_same_id_though_its_attempt_number_changed() -> None:
    first = verify(*sdk_signed(events((7, "deal.creation"), (8, "deal.creation"))))
    retry = verify(*sdk_signed(list(reversed(events((7, "deal.creation"), (8, "deal.creation"), attempt=3)))))
    other = verify(*sdk_signed(events((9, "deal.creation"))))
    assert first.event_id == retry.event_id != other.event_id


def test_the_url_hubspot_signs_with_its_escapes_decoded_verifies() -> None:
    received = RequestUrl("https", "webhooks.example.com", "/webhooks/hubspot?next=%2Fhome%3Fa%3A1")
    body, headers = sdk_signed(
        events((1, "contact.creation")), url=str(received).replace("%2F", "/").replace("%3F", "?").replace("%3A", ":")
    )
    assert verify(body, headers, received).event_type == "contact.creation"


def test_what_send_signs_is_valid_to_hubspot_api_client() -> None:
    for event_type in hubspot_sender.TYPES:
        sample = hubspot_sender.sample(SECRET, event_type, "4711", str(URL))
        stamp = sample.headers["X-HubSpot-Request-Timestamp"]
        signature = sample.headers["X-HubSpot-Signature-v3"]
        assert Signature.is_valid(signature, SECRET, sample.body.decode(), str(URL), "POST", "v3", stamp)
        event = verify(sample.body, sample.headers)
        assert (event.event_id, event.event_type) == (sample.event_id, event_type)


def test_forged_stale_wrong_url_and_missing_signatures_are_refused() -> None:
    batch = events((1, "contact.creation"))
    body, headers = sdk_signed(batch)
    assert reason(*sdk_signed(batch, secret="another-secret")) == "signature_invalid"
    assert reason(body, headers, RequestUrl("http", URL.host, URL.target)) == "signature_invalid"
    assert reason(body, headers, RequestUrl("https", URL.host, "/webhooks/hubspot")) == "signature_invalid"
    assert reason(*sdk_signed(batch, timestamp_ms=int(time.time() * 1000) - 3_600_000)) == "signature_expired"
    assert reason(*sdk_signed(batch, timestamp_ms=int(time.time() * 1000) + 3_600_000)) == "signature_expired"
    assert reason(body, headers | {"X-HubSpot-Request-Timestamp": str(int(time.time()))}) == "signature_expired"
    assert reason(body, {"X-HubSpot-Signature-v3": headers["X-HubSpot-Signature-v3"]}) == "signature_missing"
    assert reason(body, headers | {"X-HubSpot-Signature-v3": "AAAA"}) == "signature_malformed"
    assert reason(body, headers, url=None) == "url_unknown"
    assert reason(*sdk_signed({"eventId": 1})) == "body_not_json"


header_values = st.text(st.characters(exclude_characters="\r\n"), max_size=80)


@settings(max_examples=300, deadline=None)
@given(signature=header_values, timestamp=header_values, target=st.text(max_size=80), body=st.binary(max_size=300))
def test_any_input_is_an_event_or_a_refusal(signature: str, timestamp: str, target: str, body: bytes) -> None:
    headers = {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp}
    with contextlib.suppress(Rejected):  # anything else fails the test
        verify(body, headers, RequestUrl("https", "h", target))
