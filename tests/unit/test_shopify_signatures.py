"""The Shopify scheme, with deliveries signed by tests/signers.py (Shopify's documented algorithm)."""

from __future__ import annotations

import base64
import json

import pytest
from werkzeug.datastructures import Headers

from tests import signers
from webhook_server.schemes import Rejected
from webhook_server.schemes.shopify import ShopifyVerifier

SECRET = "shpss_0123456789abcdef"
BODY = json.dumps({"id": 820982911946154508, "email": "jon@example.com"}).encode()


def signed(body: bytes = BODY, secret: str = SECRET) -> Headers:
    headers = signers.shopify(body, secret, webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", topic="orders/create")
    return Headers(headers)


def reason(body: bytes, headers: Headers, secrets: tuple[str, ...] = (SECRET,)) -> str:
    with pytest.raises(Rejected) as caught:
        ShopifyVerifier(secrets).verify(body, headers)
    return caught.value.reason


def test_a_signed_delivery_yields_the_webhook_id_the_topic_and_the_exact_text() -> None:
    verified = ShopifyVerifier((SECRET,)).verify(BODY, signed())
    assert (verified.event_id, verified.event_type) == ("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "orders/create")
    assert verified.payload == BODY.decode()


def test_any_configured_secret_verifies_during_a_rotation() -> None:
    verifier = ShopifyVerifier(("old", "new"))
    assert verifier.verify(BODY, signed(secret="old")).event_id
    assert verifier.verify(BODY, signed(secret="new")).event_id
    assert reason(BODY, signed(secret="other"), ("old", "new")) == "signature_invalid"


def test_a_changed_body_is_an_invalid_signature() -> None:
    assert reason(BODY + b" ", signed()) == "signature_invalid"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "signature_missing"),
        ("not base64!", "signature_malformed"),
        (base64.b64encode(b"short").decode(), "signature_malformed"),
        ("ab" * 32, "signature_malformed"),  # hex where base64 is expected: 48 bytes
        (base64.b64encode(bytes(32)).decode(), "signature_invalid"),
    ],
)
def test_bad_signature_headers_say_what_is_wrong(value: str, expected: str) -> None:
    headers = signed()
    headers["X-Shopify-Hmac-Sha256"] = value
    assert reason(BODY, headers) == expected


@pytest.mark.parametrize("name", ["X-Shopify-Webhook-Id", "X-Shopify-Topic"])
def test_missing_identity_headers_are_named(name: str) -> None:
    headers = signed()
    del headers[name]
    assert reason(BODY, headers) == "header_missing"


def test_a_signed_body_that_is_not_a_json_object_is_refused() -> None:
    assert reason(b"[]", signed(b"[]")) == "body_not_json"
    assert reason(b"\xff{}", signed(b"\xff{}")) == "body_not_utf8"
