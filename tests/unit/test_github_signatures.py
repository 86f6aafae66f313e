"""The GitHub scheme, with deliveries signed by tests/signers.py (GitHub's documented algorithm)."""

from __future__ import annotations

import json

import pytest
from werkzeug.datastructures import Headers

from tests import signers
from webhook_server.schemes import Rejected
from webhook_server.schemes.github import GitHubVerifier

SECRET = "It's a Secret to Everybody"
BODY = json.dumps({"action": "opened", "issue": {"number": 1}}).encode()


def signed(body: bytes = BODY, secret: str = SECRET, **extra: str) -> Headers:
    headers = signers.github(body, secret, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958", event="issues")
    return Headers({**headers, **extra})


def verify(body: bytes, headers: Headers, secrets: tuple[str, ...] = (SECRET,)):
    return GitHubVerifier(secrets).verify(body, headers)


def reason(body: bytes, headers: Headers, secrets: tuple[str, ...] = (SECRET,)) -> str:
    with pytest.raises(Rejected) as caught:
        verify(body, headers, secrets)
    return caught.value.reason


def test_the_documented_example_signs_and_verifies() -> None:
    """GitHub's docs: secret "It's a Secret to Everybody", payload "Hello, World!"."""
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signers.github(b"Hello, World!", SECRET)["X-Hub-Signature-256"] == expected
    headers = signed()
    headers["X-Hub-Signature-256"] = expected
    with pytest.raises(Rejected) as caught:  # the signature is right; the body is not JSON
        verify(b"Hello, World!", headers)
    assert caught.value.reason == "body_not_json"


def test_a_signed_delivery_yields_the_delivery_id_the_event_and_the_exact_text() -> None:
    verified = verify(BODY, signed())
    assert (verified.event_id, verified.event_type) == ("72d3162e-cc78-11e3-81ab-4c9367dc0958", "issues")
    assert verified.payload == BODY.decode()


def test_any_configured_secret_verifies_during_a_rotation() -> None:
    for secret in ("old-secret", "new-secret"):
        assert verify(BODY, signed(secret=secret), ("old-secret", "new-secret")).event_type == "issues"
    assert reason(BODY, signed(secret="third"), ("old-secret", "new-secret")) == "signature_invalid"


def test_one_changed_byte_is_an_invalid_signature() -> None:
    assert reason(BODY.replace(b"opened", b"closed"), signed()) == "signature_invalid"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "signature_missing"),
        ("757107ea", "signature_malformed"),
        ("sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "signature_malformed"),
        ("sha256=zz", "signature_malformed"),
        ("sha256=" + "ab" * 20, "signature_malformed"),
        ("sha256=" + "ab" * 32, "signature_invalid"),
    ],
)
def test_bad_signature_headers_say_what_is_wrong(value: str, expected: str) -> None:
    headers = signed()
    headers["X-Hub-Signature-256"] = value
    assert reason(BODY, headers) == expected


def test_a_duplicated_signature_header_is_malformed() -> None:
    """gunicorn joins repeated headers with a comma."""
    headers = signed()
    headers["X-Hub-Signature-256"] = f"{headers['X-Hub-Signature-256']},{headers['X-Hub-Signature-256']}"
    assert reason(BODY, headers) == "signature_malformed"


@pytest.mark.parametrize("name", ["X-GitHub-Delivery", "X-GitHub-Event"])
def test_missing_identity_headers_are_named(name: str) -> None:
    headers = signed()
    del headers[name]
    with pytest.raises(Rejected) as caught:
        verify(BODY, headers)
    assert caught.value.reason == "header_missing"
    assert name in str(caught.value)


def test_identity_headers_with_control_characters_or_too_long_are_malformed() -> None:
    assert reason(BODY, signed(**{"X-GitHub-Delivery": "a\x01b"})) == "header_malformed"
    assert reason(BODY, signed(**{"X-GitHub-Event": "x" * 256})) == "header_malformed"
    assert reason(BODY, signed(**{"X-GitHub-Delivery": "72d3162e,72d3162f"})) == "header_malformed"


def test_a_form_encoded_delivery_says_to_switch_to_json() -> None:
    body = b"payload=%7B%22action%22%3A%22opened%22%7D"
    with pytest.raises(Rejected) as caught:
        verify(body, signed(body, **{"Content-Type": "application/x-www-form-urlencoded"}))
    assert caught.value.reason == "body_not_json"
    assert "application/json" in str(caught.value)


@pytest.mark.parametrize("body", [b"[1, 2]", b"{not json", b'"text"'])
def test_a_signed_body_that_is_not_a_json_object_is_refused(body: bytes) -> None:
    assert reason(body, signed(body)) == "body_not_json"


def test_the_secret_never_appears_in_a_rejection() -> None:
    with pytest.raises(Rejected) as caught:
        verify(BODY, signed(secret="wrong"))
    assert SECRET not in str(caught.value)
    assert "GITHUB_WEBHOOK_SECRET" in str(caught.value)


def test_a_number_too_long_to_read_is_refused_in_words_a_sender_understands() -> None:
    body = b'{"zen": "x", "hook_id": ' + b"9" * 5000 + b"}"
    with pytest.raises(Rejected) as caught:
        verify(body, signed(body))
    assert caught.value.reason == "body_not_json"
    assert "a number has 5000 digits" in str(caught.value)
    assert "sys." not in str(caught.value)  # not Python's advice to raise the interpreter's limit
