from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from gunicorn.workers import gthread

from webhook_server.errors import ConfigError
from webhook_server.settings import SECRET_VARIABLES, Settings
from webhook_server.web.main_loop import MainLoopWorker
from webhook_server.web.thread_worker import thread_worker

BASE = {"DATABASE_URL": "postgresql://db/webhooks", "STRIPE_WEBHOOK_SECRET": "whsec_abc"}


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings.from_env(BASE)
    assert settings.bind == "127.0.0.1:8000"
    assert settings.shutdown_cap == 10
    assert settings.drain_announce == 3
    assert settings.max_body_bytes == 1024 * 1024
    assert (settings.db_circuit_failures, settings.db_probe_interval) == (3, 0.25)
    assert settings.main_loop
    # 10 s cap, minus 3 s of announce, minus 1 s to reap and exit
    assert settings.graceful_timeout == 6


def test_a_missing_database_url_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"STRIPE_WEBHOOK_SECRET": "whsec_abc"})
    assert caught.value.variable == "DATABASE_URL"
    assert "not set" in str(caught.value)


def test_without_any_scheme_secret_every_variable_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"DATABASE_URL": "postgresql://db/webhooks", "STRIPE_WEBHOOK_SECRET": " , "})
    for variable in (*SECRET_VARIABLES.values(), "WEBHOOK_ENDPOINTS_FILE"):
        assert variable in str(caught.value)
    assert "none is set" in str(caught.value)


@pytest.mark.parametrize("scheme", sorted(SECRET_VARIABLES))
def test_any_one_scheme_is_enough_and_the_others_are_off(scheme: str) -> None:
    settings = Settings.from_env({"DATABASE_URL": "postgresql://db/webhooks", SECRET_VARIABLES[scheme]: "whsec_YWJj"})
    assert {name for name, secrets in settings.builtin_secrets.items() if secrets} == {scheme}


def test_secrets_never_appear_in_the_settings_repr() -> None:
    env = {**BASE, "GITHUB_WEBHOOK_SECRET": "gh-hidden", "STANDARD_WEBHOOKS_SECRET": "whsec_aGlkZGVu"}
    text = repr(Settings.from_env(env))
    assert "whsec_" not in text
    assert "hidden" not in text


@pytest.mark.parametrize("value", ["whsec_not base64!", "whsec_", "whsec_====", "%%%"])
def test_a_standard_webhooks_secret_must_be_base64(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, "STANDARD_WEBHOOKS_SECRET": f"whsec_YWJj,{value}"})
    assert caught.value.variable == "STANDARD_WEBHOOKS_SECRET"
    assert "not whsec_ followed by base64" in str(caught.value)


def test_several_secrets_for_a_rotation() -> None:
    settings = Settings.from_env({**BASE, "STRIPE_WEBHOOK_SECRET": "whsec_old, whsec_new"})
    assert settings.stripe_secrets == ("whsec_old", "whsec_new")


def test_an_api_key_in_the_secret_variable_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, "STRIPE_WEBHOOK_SECRET": "sk_live_supersecretvalue"})
    assert "whsec_" in str(caught.value)
    assert "supersecret" not in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WEBHOOK_SHUTDOWN_CAP", "ten"),
        ("WEBHOOK_SHUTDOWN_CAP", "1"),
        ("WEBHOOK_DRAIN_ANNOUNCE", "-1"),
        ("WEBHOOK_MAX_BODY_BYTES", "nan"),
        ("WEBHOOK_LOG_LEVEL", "loud"),
        ("WEBHOOK_DB_PROBE_INTERVAL", "0.01"),
        ("WEBHOOK_DB_PROBE_INTERVAL", "soon"),
        ("WEBHOOK_DB_CIRCUIT_FAILURES", "0"),
        ("WEBHOOK_SPOOL_MAX_BYTES", "1000"),  # smaller than a few bodies
        ("WEBHOOK_MAIN_LOOP", "no"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, variable: value})
    assert caught.value.variable == variable


def test_an_announce_that_leaves_no_drain_time_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, "WEBHOOK_DRAIN_ANNOUNCE": "9"})
    assert caught.value.variable == "WEBHOOK_DRAIN_ANNOUNCE"
    assert "at most 8" in str(caught.value)


def test_the_drain_fits_in_the_cap_whatever_the_announce() -> None:
    for announce in ("0", "0.5", "2.5", "8"):
        settings = Settings.from_env({**BASE, "WEBHOOK_DRAIN_ANNOUNCE": announce})
        assert settings.graceful_timeout >= 1
        assert settings.drain_announce + settings.graceful_timeout + 1 <= settings.shutdown_cap


def test_no_announce_by_default_under_socket_activation() -> None:
    assert Settings.from_env({**BASE, "LISTEN_FDS": "1"}).drain_announce == 0
    assert Settings.from_env({**BASE, "LISTEN_FDS": "1", "WEBHOOK_DRAIN_ANNOUNCE": "2"}).drain_announce == 2


def test_the_spool_is_off_unless_its_directory_is_set() -> None:
    assert Settings.from_env(BASE).spool_dir is None


def test_a_spool_directory_is_created_if_missing_and_private(tmp_path: Path, usual_umask: None) -> None:
    settings = Settings.from_env({**BASE, "WEBHOOK_SPOOL_DIR": str(tmp_path / "state" / "spool")})
    assert settings.spool_dir == tmp_path / "state" / "spool"
    assert stat.S_IMODE(settings.spool_dir.stat().st_mode) == 0o700  # it will hold webhook bodies
    assert settings.spool_max_bytes == 1024**3


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o701], ids=oct)
def test_a_spool_directory_others_can_enter_is_refused_with_the_fix(tmp_path: Path, mode: int) -> None:
    shared = tmp_path / "spool"
    shared.mkdir()
    shared.chmod(mode)
    with pytest.raises(ConfigError, match=rf"open to other users \(mode 0{mode:o}\).* chmod 0700 {shared}"):
        Settings.from_env({**BASE, "WEBHOOK_SPOOL_DIR": str(shared)})


@pytest.mark.parametrize("make_bad", [lambda tmp: tmp / "a-file", lambda tmp: tmp / "a-file" / "below"])
def test_a_spool_directory_that_cannot_be_used_is_refused_with_the_fix(make_bad, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, "WEBHOOK_SPOOL_DIR": str(make_bad(tmp_path))})
    assert caught.value.variable == "WEBHOOK_SPOOL_DIR"
    assert "StateDirectory=" in str(caught.value)


def test_a_spool_directory_without_write_access_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):  # root writes anywhere: take it from a read-only mount instead
        locked = Path("/proc")
    with pytest.raises(ConfigError, match=r"WEBHOOK_SPOOL_DIR: .* is not a directory this process can write in"):
        Settings.from_env({**BASE, "WEBHOOK_SPOOL_DIR": str(locked)})


def test_the_main_loop_can_be_turned_off() -> None:
    assert not Settings.from_env({**BASE, "WEBHOOK_MAIN_LOOP": "off"}).main_loop
    # Off, the worker is gthread's own with the read deadlines: every request goes to a thread.
    assert issubclass(thread_worker(10.0, main_loop=True), MainLoopWorker)
    off = thread_worker(10.0, main_loop=False)
    assert issubclass(off, gthread.ThreadWorker) and not issubclass(off, MainLoopWorker)
