"""The Stripe scheme on its own, with deliveries signed by tests/signers.py (the stripe SDK's helper)."""

from __future__ import annotations

import json
import time

import pytest

from tests import signers
from tests.signers import signed_stripe_request, stripe_event
from webhook_server.schemes import Rejected
from webhook_server.schemes.stripe import StripeVerifier

SECRET = "whsec_unit"


def verify(body: bytes, headers: dict[str, str], secrets: tuple[str, ...] = (SECRET,)):
    return StripeVerifier(secrets).verify(body, headers)


def test_a_signed_event_yields_its_id_type_and_exact_text() -> None:
    event = stripe_event("invoice.paid")
    body, headers = signed_stripe_request(event, SECRET)
    verified = verify(body, headers)
    assert (verified.event_id, verified.event_type) == (event["id"], "invoice.paid")
    assert verified.payload == body.decode()


def test_verification_is_on_the_raw_bytes_not_reserialized_json() -> None:
    body, headers = signed_stripe_request(stripe_event(), SECRET)
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert compact != body
    with pytest.raises(Rejected) as caught:
        verify(compact, headers)
    assert caught.value.reason == "signature_invalid"


@pytest.mark.parametrize("offset", [-600, 600])
def test_timestamps_outside_the_tolerance_are_refused_both_ways(offset: int) -> None:
    body, headers = signed_stripe_request(stripe_event(), SECRET, timestamp=int(time.time()) + offset)
    with pytest.raises(Rejected) as caught:
        verify(body, headers)
    assert caught.value.reason == "signature_expired"


def test_any_configured_secret_verifies_during_a_rotation() -> None:
    for secret in ("whsec_old", "whsec_new"):
        body, headers = signed_stripe_request(stripe_event(), secret)
        assert verify(body, headers, ("whsec_old", "whsec_new")).event_id


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "signature_missing"),
        ("", "signature_missing"),
        ("v1=abc", "signature_malformed"),
        ("t=soon,v1=abc", "signature_malformed"),
        ("t={now},v1=" + "00" * 32, "signature_invalid"),
        ("t={now},v1=00ff", "signature_malformed"),
        ("t={now}", "signature_malformed"),
        ("t={now},t={now},v1=" + "00" * 32, "signature_malformed"),
        ("t={now},v1=" + "00" * 31 + "\xe9\xe9", "signature_malformed"),  # latin-1 in the digest
        ("t=" + "9" * 320 + ",v1=" + "00" * 32, "signature_malformed"),  # overflowed a float
        ("t=-{now},v1=" + "00" * 32, "signature_malformed"),
        ("t={now}.5,v1=" + "00" * 32, "signature_malformed"),
        ("t=nan,v1=" + "00" * 32, "signature_malformed"),
        ("t=\u0661\u0662,v1=" + "00" * 32, "signature_malformed"),  # Arabic-Indic digits: int() takes them
        ("t={now},v1", "signature_malformed"),
    ],
)
def test_bad_headers_say_what_is_wrong(header: str | None, reason: str) -> None:
    body, _ = signed_stripe_request(stripe_event(), SECRET)
    headers = {} if header is None else {"Stripe-Signature": header.format(now=int(time.time()))}
    with pytest.raises(Rejected) as caught:
        verify(body, headers)
    assert caught.value.reason == reason


def test_a_signed_body_that_is_not_an_event_is_refused() -> None:
    for document, reason in (
        ("[1, 2]", "body_not_json"),
        ("{not json", "body_not_json"),
        ('{"type": "x"}', "event_malformed"),
        ('{"id": "evt_1", "type": 7}', "event_malformed"),
    ):
        with pytest.raises(Rejected) as caught:
            verify(document.encode(), signers.stripe(document.encode(), SECRET))
        assert caught.value.reason == reason, document


def test_invalid_utf8_is_refused_before_hashing() -> None:
    with pytest.raises(Rejected) as caught:
        verify(b'{"id": "\xff"}', {"Stripe-Signature": f"t={int(time.time())},v1={'00' * 32}"})
    assert caught.value.reason == "body_not_utf8"
