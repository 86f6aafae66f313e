"""Replay windows: each scheme's is its sender's documented one, and an endpoint of
WEBHOOK_ENDPOINTS_FILE may set its own with ``tolerance = <seconds>``."""

from __future__ import annotations

import inspect
import time
from pathlib import Path

import pytest
from werkzeug.datastructures import Headers

from tests import signers
from webhook_server import endpoints, endpoints_file
from webhook_server.dev.senders import paddle
from webhook_server.endpoints import configured
from webhook_server.errors import ConfigError
from webhook_server.schemes import Rejected
from webhook_server.settings import Settings

FILE = """
[endpoints.slack-lenient]
scheme = "slack"
secret_env = "SLACK_SECRET"
tolerance = 900

[endpoints.slack-default]
scheme = "slack"
secret_env = "SLACK_SECRET"

[endpoints.billing]
scheme = "paddle"
secret_env = "PADDLE_SECRET"
tolerance = 120

[endpoints.billing-default]
scheme = "paddle"
secret_env = "PADDLE_SECRET"
"""


def settings_of(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "endpoints.toml"
    path.write_text(text)
    environ = {"DATABASE_URL": "postgresql://db/x", "WEBHOOK_ENDPOINTS_FILE": str(path)}
    return Settings.from_env(environ | {"SLACK_SECRET": "slack-secret", "PADDLE_SECRET": "pdl_ntfset_x", "T": "t"})


def test_an_endpoint_tolerance_widens_or_narrows_its_schemes_window(tmp_path: Path) -> None:
    configured_endpoints = configured(settings_of(tmp_path, FILE))

    def answer(name: str, body: bytes, headers: dict[str, str]) -> str:
        try:
            configured_endpoints[name].verifier.verify(body, Headers(headers))
        except Rejected as exc:
            return exc.reason
        return "accepted"

    body = signers.slack_event()
    ten_minutes_old = signers.slack(body, "slack-secret", timestamp=int(time.time()) - 600)
    assert answer("slack-lenient", body, ten_minutes_old) == "accepted"
    assert answer("slack-default", body, ten_minutes_old) == "signature_expired"

    sample = paddle.sample("pdl_ntfset_x", "transaction.paid", None, "")
    a_minute_old = paddle.headers(sample.body, "pdl_ntfset_x", timestamp=int(time.time()) - 60)
    assert answer("billing", sample.body, a_minute_old) == "accepted"
    assert answer("billing-default", sample.body, a_minute_old) == "signature_expired"  # Paddle's 5 s


@pytest.mark.parametrize("value", ["0", "-5", '"300"', "true", "86401", "nan"])
def test_a_tolerance_that_is_not_a_sane_number_of_seconds_stops_the_start(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="tolerance"):
        settings_of(tmp_path, f'[endpoints.s]\nscheme = "slack"\nsecret_env = "T"\ntolerance = {value}\n')


def test_a_scheme_that_signs_no_time_has_no_tolerance_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting tolerance"):
        settings_of(tmp_path, '[endpoints.s]\nscheme = "twilio"\nsecret_env = "T"\ntolerance = 60\n')


def test_every_windowed_scheme_takes_a_tolerance() -> None:
    assert set(endpoints.SCHEMES) >= endpoints_file.WINDOWED
    for scheme in endpoints_file.WINDOWED:
        assert "tolerance" in inspect.signature(endpoints.SCHEMES[scheme]).parameters, scheme


def test_a_standard_webhooks_endpoint_keeps_its_own_window(tmp_path: Path) -> None:
    """The reference library's verify has a fixed 5-minute window: it once refused a delivery
    inside an endpoint's longer window as a wrong signature."""
    text = '[endpoints.svix]\nscheme = "standard"\nsecret_env = "STD"\ntolerance = 900\n'
    path = tmp_path / "endpoints.toml"
    path.write_text(text)
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    environ = {"DATABASE_URL": "postgresql://db/x", "WEBHOOK_ENDPOINTS_FILE": str(path), "STD": secret}
    verifier = configured(Settings.from_env(environ))["svix"].verifier
    body = signers.standard_event()
    ten_minutes_old = Headers(signers.standard(body, secret, message_id="msg_1", timestamp=int(time.time()) - 600))
    assert verifier.verify(body, ten_minutes_old).event_id == "msg_1"
    twenty_minutes_old = Headers(signers.standard(body, secret, message_id="msg_1", timestamp=int(time.time()) - 1200))
    with pytest.raises(Rejected) as caught:
        verifier.verify(body, twenty_minutes_old)
    assert caught.value.reason == "signature_expired"
