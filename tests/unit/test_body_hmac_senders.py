"""Bitbucket, Jira, Intercom, Linear, Typeform, WooCommerce, Calendly and Zendesk: senders that
sign the body (some with a timestamp) with one HMAC header (schemes/body_hmac.py). None has a
Python SDK that signs or verifies, so deliveries are signed by webhook_server/dev/senders,
each by its sender's documented recipe, written apart from the verifiers."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from webhook_server import endpoints
from webhook_server.dev import samples
from webhook_server.schemes import Handshake, Rejected, VerifiedEvent
from webhook_server.schemes.body_hmac import BodyHmacVerifier

SENDERS = ["bitbucket", "jira", "intercom", "linear", "typeform", "woocommerce", "calendly", "zendesk"]
SECRET = "whs-body-hmac-secret"


def verifier(scheme: str, *secrets: str) -> BodyHmacVerifier:
    made = endpoints.SCHEMES[scheme](secrets or (SECRET,))
    assert isinstance(made, BodyHmacVerifier)
    return made


def sender(scheme: str) -> ModuleType:
    return samples.SENDERS[scheme]


def reason(scheme: str, body: bytes, headers: dict[str, str]) -> str:
    with pytest.raises(Rejected) as caught:
        verifier(scheme).verify(body, Headers(headers))
    return caught.value.reason


@pytest.mark.parametrize("scheme", SENDERS)
def test_every_sample_verifies_under_its_id_and_type(scheme: str) -> None:
    for event_type in sender(scheme).TYPES:
        sample = sender(scheme).sample(SECRET, event_type, None, "")
        event = verifier(scheme, "old-secret", SECRET).verify(sample.body, Headers(sample.headers))
        assert isinstance(event, VerifiedEvent)
        assert (event.event_id, event.event_type) == (sample.event_id, event_type)


@pytest.mark.parametrize("scheme", SENDERS)
def test_forged_tampered_missing_and_malformed_signatures_are_refused(scheme: str) -> None:
    sample = sender(scheme).sample(SECRET, sender(scheme).DEFAULT_TYPE, None, "")
    name = verifier(scheme).signature.header
    forged = sender(scheme).sample("another-secret", sender(scheme).DEFAULT_TYPE, None, "")
    assert reason(scheme, forged.body, forged.headers) == "signature_invalid"
    assert reason(scheme, sample.body.replace(b"{", b"{ ", 1), sample.headers) == "signature_invalid"
    assert reason(scheme, sample.body, {k: v for k, v in sample.headers.items() if k != name}) == "signature_missing"
    assert reason(scheme, sample.body, sample.headers | {name: sample.headers[name][:-4] + "!!!!"}) in {
        "signature_malformed",
        "signature_invalid",  # Calendly's t= part is not the digest
    }


def test_a_woocommerce_ping_is_answered_and_not_stored() -> None:
    ping = b"webhook_id=12"
    headers = sender("woocommerce").headers(ping, SECRET, delivery="d", topic="action.woocommerce_ping")
    assert verifier("woocommerce").verify(ping, Headers(headers)) == Handshake({"received": True})


def test_timestamps_outside_each_senders_window_are_refused() -> None:
    body = json.dumps(
        sender("linear").document("Issue.create", timestamp_ms=int(time.time() * 1000) - 120_000)
    ).encode()
    headers = sender("linear").headers(body, SECRET, delivery="d", entity="Issue")
    assert reason("linear", body, headers) == "signature_expired"

    body = b'{"event": "invitee.created", "payload": {}}'
    assert reason("calendly", body, sender("calendly").headers(body, SECRET, timestamp=int(time.time()) - 600)) == (
        "signature_expired"
    )
    assert reason("calendly", body, {"Calendly-Webhook-Signature": "v1=00,t=1,t=2"}) == "signature_malformed"

    body = b'{"type": "zen:event-type:ticket.created"}'
    late = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert reason("zendesk", body, sender("zendesk").headers(body, SECRET, invocation="1", timestamp=late)) == (
        "signature_expired"
    )
    naive = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert reason("zendesk", body, sender("zendesk").headers(body, SECRET, invocation="1", timestamp=naive)) == (
        "signature_malformed"
    )


header_values = st.text(st.characters(exclude_characters="\r\n"), max_size=100)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(header_values, min_size=3, max_size=3), body=st.binary(max_size=200))
def test_any_input_is_an_event_a_handshake_or_a_refusal(values: list[str], body: bytes) -> None:
    for scheme in SENDERS:
        made = verifier(scheme)
        names = [made.signature.header, "X-Zendesk-Webhook-Signature-Timestamp", "Calendly-Webhook-Signature"]
        with contextlib.suppress(Rejected):  # anything else fails the test
            made.verify(body, Headers(dict(zip(names, values, strict=True))))
