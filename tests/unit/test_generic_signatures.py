"""Generic HMAC endpoints from WEBHOOK_ENDPOINTS_FILE: the file's validation and the scheme."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from werkzeug.datastructures import Headers

from tests import signers
from webhook_server import endpoints_file
from webhook_server.dev import samples
from webhook_server.errors import ConfigError
from webhook_server.schemes import Rejected
from webhook_server.schemes.generic import GenericVerifier, Source
from webhook_server.settings import SECRET_VARIABLES, Settings

ACME = """
[endpoints.acme]
secret_env = "ACME_SECRET"
header = "X-Acme-Signature"
algorithm = "sha512"
encoding = "base64"
prefix = "v1="
event_id = "json:data.id"
event_type = "header:X-Acme-Event"

[endpoints.plain]
secret_env = "PLAIN_SECRET"
header = "X-Signature"
"""
BODY = json.dumps({"data": {"id": 4711, "amount": 5}}).encode()


def load(text: str, tmp_path: Path, **environ: str) -> tuple[endpoints_file.EndpointSpec, ...]:
    path = tmp_path / "endpoints.toml"
    path.write_text(text)
    return endpoints_file.load(path, environ, reserved=SECRET_VARIABLES)


@pytest.fixture
def endpoints(tmp_path: Path) -> dict[str, GenericVerifier]:
    specs = load(ACME, tmp_path, ACME_SECRET="acme-old, acme-new", PLAIN_SECRET="plain")
    return {spec.name: GenericVerifier(spec) for spec in specs}


def acme_headers(body: bytes, secret: str = "acme-new") -> Headers:
    signature = signers.generic(
        body, secret, header="X-Acme-Signature", algorithm="sha512", encoding="base64", prefix="v1="
    )
    return Headers({**signature, "X-Acme-Event": "payment.done"})


def test_the_file_gives_each_endpoint_its_scheme_and_secrets(tmp_path: Path) -> None:
    acme, plain = load(ACME, tmp_path, ACME_SECRET="hidden-1, hidden-2", PLAIN_SECRET="p")
    assert (acme.name, acme.algorithm, acme.encoding, acme.prefix) == ("acme", "sha512", "base64", "v1=")
    assert acme.secrets == ("hidden-1", "hidden-2")
    assert (acme.event_id, acme.event_type) == (
        (Source("json", "data.id"),),
        (Source("header", "X-Acme-Event"),),
    )
    assert (plain.algorithm, plain.encoding, plain.prefix, plain.event_id, plain.event_type) == (
        "sha256",
        "hex",
        "",
        None,
        None,
    )
    assert "hidden" not in repr(acme)


def test_id_from_a_json_path_and_type_from_a_header(endpoints: dict[str, GenericVerifier]) -> None:
    verified = endpoints["acme"].verify(BODY, acme_headers(BODY))
    assert (verified.event_id, verified.event_type, verified.payload) == ("4711", "payment.done", BODY.decode())


def test_both_secrets_verify_during_a_rotation(endpoints: dict[str, GenericVerifier]) -> None:
    assert endpoints["acme"].verify(BODY, acme_headers(BODY, "acme-old")).event_id == "4711"
    with pytest.raises(Rejected) as caught:
        endpoints["acme"].verify(BODY, acme_headers(BODY, "acme-other"))
    assert caught.value.reason == "signature_invalid"
    assert "ACME_SECRET" in str(caught.value)


def test_without_an_id_source_the_body_hash_is_the_id(endpoints: dict[str, GenericVerifier]) -> None:
    headers = Headers(signers.generic(BODY, "plain", header="X-Signature"))
    verified = endpoints["plain"].verify(BODY, headers)
    assert verified.event_id == "sha256:" + hashlib.sha256(BODY).hexdigest()
    assert verified.event_type == "plain"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"data": {}}', "event_malformed"),
        (b'{"data": {"id": true}}', "event_malformed"),
        (b'{"data": 5}', "event_malformed"),
        (b"[]", "body_not_json"),
    ],
)
def test_a_missing_id_at_the_json_path_is_malformed(
    endpoints: dict[str, GenericVerifier], body: bytes, expected: str
) -> None:
    with pytest.raises(Rejected) as caught:
        endpoints["acme"].verify(body, acme_headers(body))
    assert caught.value.reason == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "signature_missing"),
        ("sha256=00", "signature_malformed"),
        ("v1=!!", "signature_malformed"),
        ("v1=" + base64.b64encode(bytes(32)).decode(), "signature_malformed"),
        ("v1=" + base64.b64encode(bytes(64)).decode(), "signature_invalid"),
    ],
)
def test_bad_signature_headers_say_what_is_wrong(
    endpoints: dict[str, GenericVerifier], value: str | None, expected: str
) -> None:
    headers = acme_headers(BODY)
    del headers["X-Acme-Signature"]
    if value is not None:
        headers["X-Acme-Signature"] = value
    with pytest.raises(Rejected) as caught:
        endpoints["acme"].verify(BODY, headers)
    assert caught.value.reason == expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("[endpoints.acme]\nsecret_env = 'S'\nheader = 'X-Sig'\nalgorithm = 'md5'\n", "unknown algorithm 'md5'"),
        ("[endpoints.acme]\nsecret_env = 'S'\nheader = 'X-Sig'\nencoding = 'base32'\n", "unknown encoding"),
        ("[endpoints.acme]\nsecret_env = 'UNSET'\nheader = 'X-Sig'\n", "UNSET is not set"),
        ("[endpoints.github]\nsecret_env = 'S'\nheader = 'X-Sig'\n", "built-in endpoint"),
        ("[endpoints.Bad_Name]\nsecret_env = 'S'\nheader = 'X-Sig'\n", "lowercase"),
        ("[endpoints.acme]\nsecret_env = 'S'\nheader = 'X Sig'\n", "not a valid HTTP header name"),
        ("[endpoints.acme]\nsecret_env = 'S'\n", "header must be a non-empty string"),
        ("[endpoints.acme]\nsecret_env = 'S'\nheader = 'X-Sig'\nevent_id = 'body:id'\n", "event_id must be"),
        ("[endpoints.acme]\nsecret_env = 'S'\nheader = 'X-Sig'\nevent_id = 'json:a..b'\n", "event_id must be"),
        ("[endpoints.acme]\nsecret_env = 'S'\nheader = 'X-Sig'\nheadr = 'typo'\n", "unknown setting headr"),
        ("[endpoints]\nacme = 3\n", "must be a table"),
        ("[other]\n", "no [endpoints.<name>] table"),
        ("[endpoints.acme\n", "not valid TOML"),
        # tomllib raises a plain ValueError for an integer past Python's 4,300-digit limit.
        ("[endpoints.acme]\nsecret_env = 'S'\nheader = 'X-Sig'\nx = 1" + "0" * 5000 + "\n", "not valid TOML"),
    ],
)
def test_a_bad_file_names_the_variable_the_file_and_the_endpoint(tmp_path: Path, text: str, complaint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(text, tmp_path, S="secret-value")
    assert caught.value.variable == "WEBHOOK_ENDPOINTS_FILE"
    assert complaint in str(caught.value)
    assert str(tmp_path / "endpoints.toml") in str(caught.value)
    assert "secret-value" not in str(caught.value)


def test_settings_read_the_file_and_it_alone_is_enough(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.toml"
    path.write_text(ACME)
    env = {
        "DATABASE_URL": "postgresql://db/x",
        "WEBHOOK_ENDPOINTS_FILE": str(path),
        "ACME_SECRET": "a",
        "PLAIN_SECRET": "p",
    }
    settings = Settings.from_env(env)
    assert [spec.name for spec in settings.endpoints] == ["acme", "plain"]
    assert not any(settings.builtin_secrets.values())


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        endpoints_file.load(tmp_path / "nope.toml", {}, reserved=SECRET_VARIABLES)
    assert "cannot read" in str(caught.value)


CROSS_CHECKED = """
[endpoints.acme]
secret_env = "ACME_SECRET"
header = "X-Acme-Signature"
event_id = ["header:X-Acme-Delivery", "json:id"]
event_type = ["header:X-Acme-Event", "json:type"]
"""


def cross_checked(tmp_path: Path) -> GenericVerifier:
    (spec,) = load(CROSS_CHECKED, tmp_path, ACME_SECRET="acme")
    return GenericVerifier(spec)


def signed(body: bytes, **headers: str) -> Headers:
    signature = samples.hmac_signature("acme", body, "sha256", "hex")
    return Headers({"X-Acme-Signature": signature, **{k.replace("_", "-"): v for k, v in headers.items()}})


def test_a_header_listed_with_the_body_must_agree_with_it(tmp_path: Path) -> None:
    verifier = cross_checked(tmp_path)
    body = json.dumps({"id": "evt_1", "type": "order.created"}).encode()
    verified = verifier.verify(body, signed(body, X_Acme_Delivery="evt_1", X_Acme_Event="order.created"))
    assert (verified.event_id, verified.event_type) == ("evt_1", "order.created")

    # A captured body replayed under another type, or another id to slip past deduplication.
    for replayed in (
        signed(body, X_Acme_Delivery="evt_1", X_Acme_Event="order.paid"),
        signed(body, X_Acme_Delivery="evt_2", X_Acme_Event="order.created"),
    ):
        with pytest.raises(Rejected) as caught:
            verifier.verify(body, replayed)
        assert caught.value.reason == "event_mismatch"
        assert "the signature does not cover headers" in str(caught.value)
    with pytest.raises(
        Rejected, match=re.escape("'order.paid' by the X-Acme-Event header but 'order.created' by the body's 'type'")
    ):
        verifier.verify(body, signed(body, X_Acme_Delivery="evt_1", X_Acme_Event="order.paid"))


def test_a_cross_checked_source_that_is_missing_is_refused(tmp_path: Path) -> None:
    verifier = cross_checked(tmp_path)
    body = json.dumps({"id": "evt_1"}).encode()
    with pytest.raises(Rejected) as caught:
        verifier.verify(body, signed(body, X_Acme_Delivery="evt_1", X_Acme_Event="order.created"))
    assert caught.value.reason == "event_malformed"


def test_a_list_of_sources_is_checked_like_one(tmp_path: Path) -> None:
    text = CROSS_CHECKED.replace('"json:type"]', '"body:type"]')
    with pytest.raises(ConfigError, match=r"event_type must be .* or a list of them that must agree"):
        load(text, tmp_path, ACME_SECRET="acme")


def test_send_fills_every_cross_checked_source(tmp_path: Path) -> None:
    (spec,) = load(CROSS_CHECKED, tmp_path, ACME_SECRET="acme")
    sample = samples.signed_generic_sample(spec, "acme", "order.created", "evt_9")
    verified = GenericVerifier(spec).verify(sample.body, Headers(sample.headers))
    assert (
        (verified.event_id, verified.event_type) == (sample.event_id, sample.event_type) == ("evt_9", "order.created")
    )
