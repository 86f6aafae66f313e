from __future__ import annotations

from datetime import timedelta

import pytest

from webhook_server.errors import ConfigError
from webhook_server.settings import WorkerSettings

BASE = {"DATABASE_URL": "postgresql://db/webhooks", "WEBHOOK_HANDLER_MODULES": "app.handlers, app.more_handlers"}


def test_the_worker_needs_no_scheme_secret_and_reads_its_modules() -> None:
    settings = WorkerSettings.from_env(BASE)
    assert settings.handler_modules == ("app.handlers", "app.more_handlers")
    assert (settings.max_attempts, settings.lease_seconds, settings.shutdown_cap) == (10, 60, 10)


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("WEBHOOK_HANDLER_MODULES", "", "not set"),
        ("WEBHOOK_WORKER_CONCURRENCY", "0", "below the minimum"),
        ("WEBHOOK_MAX_ATTEMPTS", "many", "not a number"),
        ("WEBHOOK_RETRY_CAP", "10", "below WEBHOOK_RETRY_BASE"),
        ("WEBHOOK_LEASE_SECONDS", "3", "no room to renew a lease"),
    ],
)
def test_bad_values_are_named(variable: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        WorkerSettings.from_env({**BASE, variable: value})
    assert caught.value.variable == variable
    assert problem in str(caught.value)


@pytest.mark.parametrize(("value", "kept"), [("", timedelta(days=30)), ("12h", timedelta(hours=12)), ("OFF", None)])
def test_retention_is_a_duration_or_off(value: str, kept: timedelta | None) -> None:
    assert WorkerSettings.from_env({**BASE, "WEBHOOK_RETENTION": value}).retention == kept


@pytest.mark.parametrize("value", ["30", "0d", "forever", "-1d"])
def test_a_bad_retention_names_the_variable_and_both_forms(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        WorkerSettings.from_env({**BASE, "WEBHOOK_RETENTION": value})
    assert caught.value.variable == "WEBHOOK_RETENTION"
    assert "positive duration" in str(caught.value) and "'off'" in str(caught.value)
