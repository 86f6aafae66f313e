"""The shipped unit files, checked by systemd itself where systemd-analyze exists."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from webhook_server.forwarder.settings import ForwarderSettings
from webhook_server.settings import Settings, WorkerSettings

UNITS = REPO_ROOT / "deploy" / "systemd"
# systemd SIGKILLs the group at TimeoutStopSec: it must leave the cap this much room (README).
STOP_MARGIN_SECONDS = 5


def render(tmp_path: Path) -> list[Path]:
    """The units with /opt/webhook-server pointing at this checkout, templates instantiated."""
    for env_file in ("server.env", "worker.env", "dashboard.env", "forward.env"):
        (tmp_path / env_file).write_text("DATABASE_URL=postgresql://localhost/webhooks\n")
    rendered = []
    for unit in sorted(UNITS.glob("*.s*")):  # .service and .socket, not the env examples
        text = unit.read_text().replace("/opt/webhook-server", str(REPO_ROOT))
        text = text.replace("/etc/webhook-server/", f"{tmp_path}/")
        target = tmp_path / unit.name.replace("@.", "@8001.")
        target.write_text(text)
        rendered.append(target)
    return rendered


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_units_pass_systemd_analyze_verify_without_a_warning(tmp_path: Path) -> None:
    # verify exits 0 on a line it ignores ("Failed to parse ..., ignoring"): any output fails.
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *map(str, render(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def unit_settings(name: str) -> dict[str, str]:
    """The unit's settings; repeated ``Environment=`` lines add up, as they do for systemd."""
    settings: dict[str, str] = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and line[0] != "#":
            key, value = line.split("=", 1)
            settings[key] = f"{settings[key]} {value}" if key == "Environment" and key in settings else value
    return settings


def shutdown_cap(settings: dict[str, str], default: float) -> float:
    """The unit's WEBHOOK_SHUTDOWN_CAP: its own ``Environment=`` if it sets one, else the code's default."""
    for assignment in settings.get("Environment", "").split():
        variable, _, value = assignment.strip('"').partition("=")
        if variable == "WEBHOOK_SHUTDOWN_CAP":
            return float(value)
    return default


@pytest.mark.parametrize(
    ("name", "default_cap"),
    [
        ("webhook-server.service", Settings.shutdown_cap),
        ("webhook-server@.service", Settings.shutdown_cap),
        ("webhook-worker.service", WorkerSettings.shutdown_cap),
        ("webhook-forward.service", ForwarderSettings.shutdown_cap),
    ],
)
def test_systemd_waits_for_the_shutdown_cap_plus_a_margin_before_it_kills(name: str, default_cap: float) -> None:
    settings = unit_settings(name)
    assert float(settings["TimeoutStopSec"]) >= shutdown_cap(settings, default_cap) + STOP_MARGIN_SECONDS


def test_the_service_stops_as_the_drain_needs() -> None:
    for name in ("webhook-server.service", "webhook-server@.service"):
        settings = unit_settings(name)
        assert settings["KillMode"] == "mixed", name
        # The process checks its cap against the unit's timeout, which it can only read from here.
        assert f"WEBHOOK_SYSTEMD_TIMEOUT_STOP={settings['TimeoutStopSec']}" in settings["Environment"].split(), name
        assert "gunicorn -c python:webhook_server.web.config" in settings["ExecStart"], name  # any install
        assert "python -m" not in settings["ExecStart"], name
        assert settings["RestartPreventExitStatus"] == "78", name  # a configuration error: no restart loop
        # The spool: in the state directory systemd creates for the service's user, shared by instances.
        assert settings["StateDirectory"] == "webhook-server/spool", name
        assert "WEBHOOK_SPOOL_DIR=/var/lib/webhook-server/spool" in settings["Environment"].split(), name


def test_the_worker_stops_within_the_cap_and_is_restarted_only_when_a_restart_helps() -> None:
    settings = unit_settings("webhook-worker.service")
    assert settings["ExecStart"].endswith("/.venv/bin/webhook-server worker")
    assert f"WEBHOOK_SYSTEMD_TIMEOUT_STOP={settings['TimeoutStopSec']}" in settings["Environment"].split()
    assert settings["Restart"] == "on-failure"  # exit 70: handlers stuck
    assert settings["RestartPreventExitStatus"] == "78"  # a configuration error


def test_secrets_come_as_systemd_credentials_the_worker_gets_no_signing_secret() -> None:
    def credentials(name: str) -> set[str]:
        lines = (UNITS / name).read_text().splitlines()
        return {line.split("=", 1)[1].split(":", 1)[0] for line in lines if line.startswith("LoadCredential=")}

    for name in ("webhook-server.service", "webhook-server@.service"):
        assert credentials(name) == {"DATABASE_URL", "STRIPE_WEBHOOK_SECRET"}, name
    assert credentials("webhook-worker.service") == {"DATABASE_URL"}
    assert {"DATABASE_URL", "WEBHOOK_DASHBOARD_PASSWORD"} <= credentials("webhook-dashboard.service")


def test_the_dashboard_runs_its_own_command_and_is_not_restarted_on_a_configuration_error() -> None:
    settings = unit_settings("webhook-dashboard.service")
    assert settings["ExecStart"].endswith("/.venv/bin/webhook-server dashboard")  # its own gunicorn config
    assert settings["EnvironmentFile"] == "/etc/webhook-server/dashboard.env"  # no signing secret in it
    assert settings["User"] == "webhook-dashboard"
    assert settings["RestartPreventExitStatus"] == "78"  # no password, or the webhook port
    assert settings["KillMode"] == "mixed"


def test_the_dashboard_keeps_its_session_key_in_a_private_state_directory() -> None:
    settings = unit_settings("webhook-dashboard.service")
    assert settings["StateDirectory"] == "webhook-dashboard" and settings["StateDirectoryMode"] == "0700"


def test_every_env_file_the_docs_name_is_one_a_unit_reads() -> None:
    """deploy/README.md once said a value in /etc/webhook-server/env overrides the spool
    directory; the server units read /etc/webhook-server/server.env."""
    read = {unit_settings(unit.name).get("EnvironmentFile") for unit in UNITS.glob("*.service")}
    pages = sorted((REPO_ROOT / "docs").rglob("*.md"))
    docs = [REPO_ROOT / "README.md", *pages, REPO_ROOT / "deploy" / "README.md", *UNITS.iterdir()]
    for doc in docs:
        for named in re.findall(r"/etc/webhook-server/[\w.-]*env\b", doc.read_text()):
            assert named in read, f"{doc.relative_to(REPO_ROOT)} names {named}; the units read {sorted(read)}"


def test_the_shipped_sysusers_and_tmpfiles_create_every_user_and_the_credentials_directory(tmp_path: Path) -> None:
    """The install paragraph asked for the users by hand and named two of the three."""
    deploy = REPO_ROOT / "deploy"
    users = {unit_settings(unit.name)["User"] for unit in UNITS.glob("*.service")}
    declared = (deploy / "sysusers.d" / "webhook-server.conf").read_text().splitlines()
    assert {line.split()[1] for line in declared if line.startswith("u ")} == users
    assert all(f"`{user}`" in (deploy / "README.md").read_text() for user in users)
    if shutil.which("systemd-sysusers") is None or shutil.which("systemd-tmpfiles") is None:
        pytest.skip("systemd-sysusers and systemd-tmpfiles are not installed")
    (tmp_path / "etc").mkdir()
    for command, name in (("systemd-sysusers", "sysusers.d"), ("systemd-tmpfiles", "tmpfiles.d")):
        extra = ["--create"] if command == "systemd-tmpfiles" else []
        result = subprocess.run(
            [command, f"--root={tmp_path}", *extra, str(deploy / name / "webhook-server.conf")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        # A line it cannot use is only a warning, "<file>:<line>: …", and exit status 0.
        assert (result.returncode, "webhook-server.conf:" in result.stderr) == (0, False), result.stderr
    created = {line.split(":")[0] for line in (tmp_path / "etc" / "passwd").read_text().splitlines()}
    assert users <= created
    credentials = tmp_path / "etc" / "webhook-server" / "credentials"
    assert (stat.S_IMODE(credentials.stat().st_mode), credentials.stat().st_uid) == (0o700, 0)


def test_the_forwarder_runs_as_its_own_user_with_only_the_database_credential_by_default() -> None:
    settings = unit_settings("webhook-forward.service")
    assert settings["ExecStart"].endswith("/.venv/bin/webhook-server forward")
    assert settings["User"] not in (
        unit_settings("webhook-worker.service")["User"],
        unit_settings("webhook-server.service")["User"],
    )
    assert settings["EnvironmentFile"] == "/etc/webhook-server/forward.env"
    assert settings["LoadCredential"] == "DATABASE_URL:/etc/webhook-server/credentials/DATABASE_URL"
    assert settings["RestartPreventExitStatus"] == "78"
