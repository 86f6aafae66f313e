"""Every scheme end to end against a real gunicorn: signed by tests/signers.py
(the one way tests sign), stored once, redelivered as a duplicate, refused with a wrong
secret, accepted with either secret during a rotation, and 404 when not configured."""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests import signers
from tests.conftest import stored_rows
from tests.harness.gunicorn import GunicornServer

ENDPOINTS_FILE = """
[endpoints.acme]
secret_env = "ACME_WEBHOOK_SECRET"
header = "X-Acme-Signature"
algorithm = "sha512"
encoding = "base64"
prefix = "v1="
event_id = "json:id"
event_type = "header:X-Acme-Event"
"""
# Not the secret of any scheme, and valid for all (Standard Webhooks keys are base64).
WRONG_SECRET = "whsec_" + base64.b64encode(b"a key nobody configured").decode()
CLI = [sys.executable, "-c", "from webhook_server.cli import run; run()"]


def _acme(body: bytes, secret: str) -> dict[str, str]:
    signature = signers.generic(
        body, secret, header="X-Acme-Signature", algorithm="sha512", encoding="base64", prefix="v1="
    )
    return {"Content-Type": "application/json", **signature, "X-Acme-Event": "payment.done"}


@dataclass(frozen=True)
class Case:
    """One scheme: its secret variable, two secrets for a rotation, and how it signs a delivery
    of event ``event_id`` (returning the body, the headers and the stored event type)."""

    variable: str
    old: str
    new: str
    deliver: Callable[[str, str], tuple[bytes, dict[str, str], str]]


def _json(document: dict) -> bytes:
    return json.dumps(document).encode()


CASES = {
    "github": Case(
        "GITHUB_WEBHOOK_SECRET",
        "gh-old-secret",
        "gh-new-secret",
        lambda secret, event_id: (
            body := _json({"action": "opened", "issue": {"number": 1}}),
            signers.github(body, secret, delivery=event_id, event="issues"),
            "issues",
        ),
    ),
    "shopify": Case(
        "SHOPIFY_WEBHOOK_SECRET",
        "shpss_old",
        "shpss_new",
        lambda secret, event_id: (
            body := _json({"id": 820982911946154508, "total_price": "20.00"}),
            signers.shopify(body, secret, webhook_id=event_id, topic="orders/create"),
            "orders/create",
        ),
    ),
    "slack": Case(
        "SLACK_SIGNING_SECRET",
        "8f742231b10e8888abcd99yyyzzz85a5",
        "0123456789abcdef0123456789abcdef",
        lambda secret, event_id: (
            body := signers.slack_event(event_id, "app_mention"),
            signers.slack(body, secret),
            "app_mention",
        ),
    ),
    "standard": Case(
        "STANDARD_WEBHOOKS_SECRET",
        "whsec_" + base64.b64encode(b"old key of 24 bytes.....").decode(),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        lambda secret, event_id: (
            body := signers.standard_event("invoice.paid"),
            signers.standard(body, secret, message_id=event_id),
            "invoice.paid",
        ),
    ),
    "acme": Case(
        "ACME_WEBHOOK_SECRET",
        "acme-old",
        "acme-new",
        lambda secret, event_id: (body := _json({"id": event_id, "amount": 5}), _acme(body, secret), "payment.done"),
    ),
}
ALL_SCHEMES = ["stripe", *CASES]


def only(name: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a server with this one scheme configured, rotating old → new."""
    case = CASES[name]
    env = {"STRIPE_WEBHOOK_SECRET": "", case.variable: f"{case.old},{case.new}"}
    if name == "acme":
        path = tmp_path / "endpoints.toml"
        path.write_text(ENDPOINTS_FILE)
        env["WEBHOOK_ENDPOINTS_FILE"] = str(path)
    return env


def post(server: GunicornServer, name: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(server.url(f"/webhooks/{name}"), data=body, headers=headers, timeout=10)


@pytest.mark.parametrize("name", CASES)
def test_a_scheme_end_to_end(name: str, start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path):
    case = CASES[name]
    server = start_server(**only(name, tmp_path))
    event_id = f"evt-{uuid.uuid4()}"

    first = post(server, name, *case.deliver(case.new, event_id)[:2])
    assert (first.status_code, first.json()) == (200, {"received": True, "duplicate": False}), first.text
    event_type = case.deliver(case.new, event_id)[2]
    assert stored_rows(clean_db) == [(name, event_id, event_type, "pending", 0)]

    again = post(server, name, *case.deliver(case.new, event_id)[:2])
    assert (again.status_code, again.json()) == (200, {"received": True, "duplicate": True}), again.text
    assert len(stored_rows(clean_db)) == 1

    rotated = post(server, name, *case.deliver(case.old, f"evt-{uuid.uuid4()}")[:2])
    assert (rotated.status_code, rotated.json()["duplicate"]) == (200, False), rotated.text
    assert len(stored_rows(clean_db)) == 2

    forged = post(server, name, *case.deliver(WRONG_SECRET, f"evt-{uuid.uuid4()}")[:2])
    assert forged.status_code == 400, forged.text
    assert forged.json()["error"] == "signature_invalid"
    assert case.variable in forged.json()["message"]
    assert len(stored_rows(clean_db)) == 2

    for other in ALL_SCHEMES:
        if other != name:
            assert post(server, other, b"{}", {}).status_code == 404, other

    exposed = requests.get(server.url("/metrics"), timeout=10).text + server.log()
    assert f'webhook_rejections_total{{endpoint="{name}",provider="{name}",reason="signature_invalid"}} 1.0' in exposed
    for secret in (case.old, case.new):
        assert secret.removeprefix("whsec_") not in exposed


@pytest.mark.parametrize("name", CASES)
def test_send_posts_a_sample_the_server_accepts(
    name: str, start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    env = only(name, tmp_path)
    server = start_server(**env)
    command = [*CLI, "send", name, "--url", server.url(f"/webhooks/{name}"), "--id", "evt-cli-1"]
    cli_env = {**_environ_without_secrets(), **env, CASES[name].variable: CASES[name].old}
    for duplicate in ("false", "true"):
        result = subprocess.run(command, env=cli_env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f'"duplicate":{duplicate}' in result.stdout
    rows = stored_rows(clean_db)
    assert len(rows) == 1 and rows[0][0] == name


def test_slack_url_verification_is_answered_and_nothing_stored(
    start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    server = start_server(**only("slack", tmp_path))
    body = _json(
        {
            "token": "unused",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
    answer = post(server, "slack", body, signers.slack(body, CASES["slack"].new))
    assert (answer.status_code, answer.json()) == (
        200,
        {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"},
    )
    forged = post(server, "slack", body, signers.slack(body, WRONG_SECRET))
    assert forged.status_code == 400
    assert stored_rows(clean_db) == []


def test_without_any_scheme_the_server_refuses_to_start(clean_db: str, tmp_path: Path) -> None:
    server = GunicornServer(clean_db, tmp_path / "gunicorn.log", STRIPE_WEBHOOK_SECRET="")
    try:
        assert server.wait_exit(30) == 78
    finally:
        server.kill()
    for variable in (
        "STRIPE_WEBHOOK_SECRET",
        "GITHUB_WEBHOOK_SECRET",
        "SLACK_SIGNING_SECRET",
        "WEBHOOK_ENDPOINTS_FILE",
    ):
        assert variable in server.log()


def _environ_without_secrets() -> dict[str, str]:
    variables = {case.variable for case in CASES.values()} | {"STRIPE_WEBHOOK_SECRET", "WEBHOOK_ENDPOINTS_FILE"}
    return {k: v for k, v in os.environ.items() if k not in variables}


def test_repeated_headers_are_a_precise_400_never_a_5xx(
    start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    """gunicorn joins a repeated header with a comma: every scheme must name the problem."""
    env = {case.variable: case.new for case in CASES.values()}
    (tmp_path / "endpoints.toml").write_text(ENDPOINTS_FILE)
    server = start_server(**env, WEBHOOK_ENDPOINTS_FILE=str(tmp_path / "endpoints.toml"))
    for name, case in CASES.items():
        body, headers, _ = case.deliver(case.new, f"evt-{uuid.uuid4()}")
        for repeated in headers:
            if repeated == "Content-Type":
                continue
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            connection.putrequest("POST", f"/webhooks/{name}")
            for header, value in [*headers.items(), (repeated, headers[repeated])]:
                connection.putheader(header, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            answer = json.loads(response.read())
            connection.close()
            assert response.status == 400, (name, repeated, answer)
            assert answer["error"] in ("signature_malformed", "header_malformed"), (name, repeated, answer)
    assert stored_rows(clean_db) == []
