"""Under systemd, a WEBHOOK_SHUTDOWN_CAP that the unit's TimeoutStopSec would cut short is refused."""

from __future__ import annotations

import pytest

from webhook_server.errors import ConfigError
from webhook_server.settings import Settings, WorkerSettings

BASE = {
    "DATABASE_URL": "postgresql://db/webhooks",
    "STRIPE_WEBHOOK_SECRET": "whsec_abc",
    "WEBHOOK_HANDLER_MODULES": "app.handlers",
}
UNDER_SYSTEMD = {"INVOCATION_ID": "0123456789abcdef0123456789abcdef", "WEBHOOK_SYSTEMD_TIMEOUT_STOP": "15"}
BOTH = pytest.mark.parametrize("settings_class", [Settings, WorkerSettings], ids=["server", "worker"])


@BOTH
@pytest.mark.parametrize("cap", ["14.5", "15", "30"])
def test_a_cap_systemd_would_cut_short_is_refused(settings_class: type, cap: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_class.from_env({**BASE, **UNDER_SYSTEMD, "WEBHOOK_SHUTDOWN_CAP": cap})
    assert caught.value.variable == "WEBHOOK_SHUTDOWN_CAP"
    assert "TimeoutStopSec=15" in str(caught.value)
    assert "at most 14 s" in str(caught.value)


@BOTH
def test_a_cap_that_ends_in_time_starts(settings_class: type) -> None:
    assert settings_class.from_env({**BASE, **UNDER_SYSTEMD, "WEBHOOK_SHUTDOWN_CAP": "14"}).shutdown_cap == 14


@BOTH
@pytest.mark.parametrize(
    "environ",
    [
        {"WEBHOOK_SYSTEMD_TIMEOUT_STOP": "15"},  # not started by systemd: there is no TimeoutStopSec
        {"INVOCATION_ID": "0123456789abcdef0123456789abcdef"},  # a unit that does not say its timeout
    ],
    ids=["outside-systemd", "timeout-unknown"],
)
def test_nothing_is_checked_without_both(settings_class: type, environ: dict[str, str]) -> None:
    assert settings_class.from_env({**BASE, **environ, "WEBHOOK_SHUTDOWN_CAP": "30"}).shutdown_cap == 30


@BOTH
def test_a_timeout_that_is_not_seconds_is_named(settings_class: type) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_class.from_env({**BASE, **UNDER_SYSTEMD, "WEBHOOK_SYSTEMD_TIMEOUT_STOP": "15s"})
    assert caught.value.variable == "WEBHOOK_SYSTEMD_TIMEOUT_STOP"
