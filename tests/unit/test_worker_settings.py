from __future__ import annotations

import pytest

from webhook_server.errors import ConfigError
from webhook_server.settings import WorkerSettings

BASE = {"DATABASE_URL": "postgresql://db/webhooks", "WEBHOOK_HANDLER_MODULES": "app.handlers, app.more_handlers"}


def test_the_worker_needs_no_provider_secret_and_reads_its_modules() -> None:
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
