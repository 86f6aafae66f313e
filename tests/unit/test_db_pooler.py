"""WEBHOOK_DB_POOLER and WEBHOOK_DIRECT_DATABASE_URL: what a connection sends behind a transaction
pooler, and where the connections that need a session of their own go."""

from __future__ import annotations

import pytest

from webhook_server import db
from webhook_server.dashboard.settings import DashboardSettings
from webhook_server.errors import ConfigError
from webhook_server.settings import Settings, WorkerSettings

POOLED = "postgresql://webhooks@pgbouncer:6432/webhooks"
DIRECT = "postgresql://webhooks@db:5432/webhooks"


def test_unset_sends_the_session_settings_as_startup_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(db.POOLER_VARIABLE, raising=False)
    kwargs = db.connection_kwargs(2.0)
    assert kwargs["options"] == "-c statement_timeout=2000 -c synchronous_commit=on"
    assert "prepare_threshold" not in kwargs
    assert db.session_url(POOLED) == POOLED


def test_transaction_pooling_sends_no_options_and_prepares_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(db.POOLER_VARIABLE, " Transaction ")
    kwargs = db.connection_kwargs(2.0, 30.0)
    assert "options" not in kwargs
    assert kwargs["prepare_threshold"] is None
    assert kwargs["autocommit"] is True


def test_a_session_goes_to_the_direct_url_behind_the_pooler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(db.POOLER_VARIABLE, "transaction")
    monkeypatch.setenv(db.DIRECT_URL_VARIABLE, DIRECT)
    assert db.session_url(POOLED) == DIRECT


def test_behind_the_pooler_without_a_direct_url_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(db.POOLER_VARIABLE, "transaction")
    monkeypatch.delenv(db.DIRECT_URL_VARIABLE, raising=False)
    with pytest.raises(ConfigError, match="WEBHOOK_DIRECT_DATABASE_URL: not set, and WEBHOOK_DB_POOLER=transaction"):
        db.session_url(POOLED)


@pytest.mark.parametrize("value", ["session", "statement", "yes", "transaction\x00", "\ud800", "9" * 5000])
def test_an_unknown_mode_stops_every_process_at_start(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    environ = {
        "DATABASE_URL": POOLED,
        "STRIPE_WEBHOOK_SECRET": "whsec_x",
        "WEBHOOK_HANDLER_MODULES": "handlers",
        db.POOLER_VARIABLE: value,
    }
    for load in (Settings.from_env, WorkerSettings.from_env):
        with pytest.raises(ConfigError, match=r"WEBHOOK_DB_POOLER: .* set it to transaction when DATABASE_URL"):
            load(environ)
    dashboard = {"WEBHOOK_DASHBOARD_PASSWORD": "a-long-enough-password", "WEBHOOK_DASHBOARD_STATE_DIR": "/nonexistent"}
    with pytest.raises(ConfigError, match="WEBHOOK_DB_POOLER"):
        DashboardSettings.from_env({**environ, **dashboard})
