"""Least privilege in the shipped units: the worker gets its own env file with no signing secret,
runs as its own user, and starts and processes events with nothing more."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import psycopg

from tests.conftest import REPO_ROOT
from tests.harness.gunicorn import kill_group, start_logged
from tests.worker.conftest import create_runs_table, wait_for
from webhook_server.dashboard.settings import EXAMPLE_PASSWORDS, DashboardSettings
from webhook_server.settings import SECRET_VARIABLES, Settings, WorkerSettings

UNITS = REPO_ROOT / "deploy" / "systemd"
WORKER_SCRIPT = Path(sys.executable).parent / "webhook-server"


def env_file(name: str) -> dict[str, str]:
    """KEY=VALUE lines as systemd reads them; comments and blank lines skipped."""
    lines = (UNITS / name).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def unit_settings(name: str) -> dict[str, str]:
    lines = (UNITS / name).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_the_worker_reads_its_own_env_file_with_no_secret_and_runs_as_its_own_user(tmp_path: Path) -> None:
    worker = unit_settings("webhook-worker.service")
    assert worker["EnvironmentFile"] == "/etc/webhook-server/worker.env"
    for name in ("webhook-server.service", "webhook-server@.service"):
        server = unit_settings(name)
        assert server["EnvironmentFile"] == "/etc/webhook-server/server.env", name
        # The same user could read the server's secrets from /proc/<pid>/environ.
        assert server["User"] != worker["User"], name

    worker_env = env_file("worker.env.example")
    assert not set(worker_env) & {*SECRET_VARIABLES.values(), "DATABASE_URL"}  # credentials, not env lines
    assert not [variable for variable in worker_env if "SECRET" in variable]
    # What LoadCredential= leaves each process: $CREDENTIALS_DIRECTORY/<ID>.
    (tmp_path / "DATABASE_URL").write_text("postgresql://webhooks@db/webhooks")
    (tmp_path / "STRIPE_WEBHOOK_SECRET").write_text("whsec_from_credential")
    credentials = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert WorkerSettings.from_env(worker_env | credentials).handler_modules == ("my_app.webhook_handlers",)
    server = Settings.from_env(env_file("server.env.example") | credentials)
    assert server.stripe_secrets == ("whsec_from_credential",)


def test_the_worker_starts_and_processes_events_without_any_secret(clean_db: str, tmp_path: Path) -> None:
    create_runs_table(clean_db)
    environment = {
        **env_file("worker.env.example"),
        # The unit's DATABASE_URL credential; as a variable here, since the test handlers read it too.
        "DATABASE_URL": clean_db,
        "WEBHOOK_HANDLER_MODULES": "tests.worker.recording_handlers",
        "WEBHOOK_WORKER_METRICS_BIND": "127.0.0.1:0",
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(REPO_ROOT),
    }
    log_path = tmp_path / "worker.log"
    process = start_logged([str(WORKER_SCRIPT), "worker"], log_path, env=environment, cwd=REPO_ROOT)
    try:
        with psycopg.connect(clean_db, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO webhook_events (provider, event_id, event_type, payload) VALUES (%s, %s, %s, %s)",
                ("stripe", "evt_no_secret", "invoice.paid", json.dumps({"id": "evt_no_secret"})),
            )

        def done() -> bool:
            assert process.poll() is None, log_path.read_text()
            with psycopg.connect(clean_db, autocommit=True) as conn:
                return conn.execute("SELECT status FROM webhook_events").fetchall() == [("done",)]

        wait_for(done, 30, "the event processed by a worker that has no secret")
    finally:
        kill_group(process)


def test_the_dashboards_env_file_holds_no_secret_its_credentials_do(tmp_path: Path) -> None:
    """Its example held DATABASE_URL with its password and WEBHOOK_DASHBOARD_PASSWORD in plain
    lines, against the rule the server and the worker follow."""
    dashboard_env = env_file("dashboard.env.example")
    assert not {"DATABASE_URL", "WEBHOOK_DASHBOARD_PASSWORD"} & set(dashboard_env)
    (tmp_path / "DATABASE_URL").write_text("postgresql://webhooks@db/webhooks")
    (tmp_path / "WEBHOOK_DASHBOARD_PASSWORD").write_text("a-long-enough-password")
    # What the unit adds: LoadCredential='s directory, StateDirectory='s.
    systemd = {"CREDENTIALS_DIRECTORY": str(tmp_path), "STATE_DIRECTORY": str(tmp_path / "state")}
    settings = DashboardSettings.from_env(dashboard_env | systemd)
    assert (settings.database_url, settings.bind) == ("postgresql://webhooks@db/webhooks", DashboardSettings.bind)


def test_the_dashboards_default_port_is_clear_of_the_shipped_instances() -> None:
    """The proxies' upstreams and the socket units' examples put webhook-server instances on 8001
    and up; a dashboard left at its default must not take one of their ports."""
    default_port = DashboardSettings.bind.rsplit(":", 1)[1]
    assert env_file("dashboard.env.example")["WEBHOOK_DASHBOARD_BIND"] == DashboardSettings.bind
    deploy = REPO_ROOT / "deploy"
    places = [
        deploy / "nginx" / "webhook-server.conf",
        deploy / "haproxy" / "haproxy.cfg",
        *UNITS.glob("webhook-server@*"),
    ]
    shipped = " ".join(path.read_text() for path in places)
    instances = set(re.findall(r"127\.0\.0\.1:(\d+)", shipped)) | set(re.findall(r"webhook-server@(\d+)", shipped))
    assert {"8001", "8002", "8003"} <= instances, instances  # where this test expects the examples
    assert default_port not in instances


def test_every_dashboard_password_the_shipped_files_show_is_refused() -> None:
    """A password copied from an example is known to everybody who read it."""
    shown = set()
    docs = sorted((REPO_ROOT / "docs").rglob("*.md"))
    deploy = [path for path in (REPO_ROOT / "deploy").rglob("*") if path.is_file()]
    for document in (REPO_ROOT / "README.md", *docs, *deploy):
        shown |= set(re.findall(r"WEBHOOK_DASHBOARD_PASSWORD=([^\s\"'$`]{12,})", document.read_text()))
    assert shown <= EXAMPLE_PASSWORDS, shown - EXAMPLE_PASSWORDS
