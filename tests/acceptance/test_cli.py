"""The commands a new user types, run as processes: `webhook-server dev`, `send stripe`, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import requests

from tests.conftest import REPO_ROOT, STRIPE_SECRET, GunicornServer
from tests.harness.dashboard import csrf_token
from tests.harness.gunicorn import start_logged, wait_until_healthy
from tests.harness.polling import wait_for
from webhook_server.dev.localdb import free_port

CLI = [sys.executable, "-c", "from webhook_server.cli import run; run()"]


def processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if proc.name.isdigit() and text in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found


def processes_in_session(sid: int) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if os.getsid(int(proc.name)) == sid:
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def wait_for_line(log_path: Path, text: str, timeout: float = 30) -> None:
    wait_for(
        lambda: text in log_path.read_text(errors="replace"),
        timeout,
        lambda: f"{text!r} logged:\n{log_path.read_text()[-5000:]}",
    )


def start_dev(
    data_dir: Path, port: int, log_path: Path, env: dict[str, str], *, dashboard_port: int | None = None
) -> subprocess.Popen[bytes]:
    dashboard = str(dashboard_port or free_port())
    dev = start_logged(
        [*CLI, "dev", "--data-dir", str(data_dir), "--port", str(port), "--dashboard-port", dashboard],
        log_path,
        env=env,
    )
    wait_until_healthy(f"http://127.0.0.1:{port}/health", log_path, dev, timeout=60)
    return dev


def stop_dev(dev: subprocess.Popen[bytes]) -> None:
    os.killpg(dev.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    dev.wait(30)


def sourced(env_file: Path) -> dict[str, str]:
    """The variables a shell has after `source env_file`."""
    shell = subprocess.run(
        ["bash", "-c", f"source {env_file} && env -0"], capture_output=True, check=True, timeout=10, env={}
    )
    return dict(item.split("=", 1) for item in shell.stdout.decode().split("\0") if "=" in item)


def test_dev_serves_send_delivers_the_worker_handles_and_ctrl_c_leaves_nothing_behind(tmp_path: Path) -> None:
    data_dir, port, dashboard_port = tmp_path / "dev", free_port(), free_port()
    # A production secret exported in the shell is used by neither dev nor send.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"STRIPE_WEBHOOK_SECRET": "whsec_production"}
    dev = start_dev(data_dir, port, tmp_path / "dev.log", env, dashboard_port=dashboard_port)
    try:
        assert f"http://127.0.0.1:{port}" in (tmp_path / "dev.log").read_text()
        assert (
            "not used here:             STRIPE_WEBHOOK_SECRET from your environment"
            in (tmp_path / "dev.log").read_text()
        )
        assert f"spool (Postgres down):     {data_dir / 'spool'}" in (tmp_path / "dev.log").read_text()
        assert (data_dir / "spool").is_dir()  # the server validated it at start

        send = [*CLI, "send", "stripe", "--url", f"http://127.0.0.1:{port}/webhooks/stripe", "--id", "evt_cli"]
        send_env = {**env, "WEBHOOK_DEV_DIR": str(data_dir)}  # the dev server's secret, as the README says
        first = subprocess.run(send, env=send_env, capture_output=True, text=True, timeout=30)
        again = subprocess.run(send, env=send_env, capture_output=True, text=True, timeout=30)
        assert first.returncode == 0, first.stderr
        assert "→ 200" in first.stdout and '"duplicate":false' in first.stdout
        assert f"signing with the dev server's secret ({data_dir / 'stripe-webhook-secret'})" in first.stderr
        assert '"duplicate":true' in again.stdout
        for scheme in ("github", "shopify", "slack", "standard"):  # each with its own dev secret
            url = f"http://127.0.0.1:{port}/webhooks/{scheme}"
            sent = subprocess.run(
                [*CLI, "send", scheme, "--url", url], env=send_env, capture_output=True, text=True, timeout=30
            )
            assert sent.returncode == 0 and "→ 200" in sent.stdout, sent.stdout + sent.stderr

        wait_for_line(tmp_path / "dev.log", "handled stripe payment_intent.succeeded evt_cli")  # the dev worker ran

        # The dashboard, at the address and with the password dev printed.
        printed = re.search(r"dashboard: +(http://\S+) password (\S+)", (tmp_path / "dev.log").read_text())
        assert printed is not None and printed[1] == f"http://127.0.0.1:{dashboard_port}/"
        wait_until_healthy(f"{printed[1]}login", tmp_path / "dev.log", dev, timeout=60)
        browser = requests.Session()
        token = csrf_token(browser.get(f"{printed[1]}login", timeout=10).text)
        browser.post(f"{printed[1]}login", data={"csrf_token": token, "password": printed[2]}, timeout=10)
        assert "evt_cli" in browser.get(f"{printed[1]}events", timeout=10).text
    finally:
        stop_dev(dev)
    assert processes_in_session(dev.pid) == []
    assert processes_mentioning(str(data_dir)) == []


def test_dev_keeps_its_database_port_and_password_private_and_says_how_to_reach_it(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "dev", free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "STRIPE_WEBHOOK_SECRET")}
    dev = start_dev(data_dir, port, tmp_path / "dev.log", env)
    try:
        database_url = sourced(data_dir / "env")["DATABASE_URL"]
        url = f"http://127.0.0.1:{port}/webhooks/stripe"
        sent = subprocess.run(
            [*CLI, "send", "stripe", "--url", url, "--type", "invoice.paid", "--id", "evt_inv_1"],
            env={**env, "WEBHOOK_DEV_DIR": str(data_dir)},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert sent.returncode == 0, sent.stderr
        shown = subprocess.run(
            [*CLI, "events", "show", "evt_inv_1", "--json"],
            env={**env, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert json.loads(shown.stdout)["payload"]["data"]["object"]["object"] == "invoice"
        # No trust: the superuser needs the password.
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(re.sub(r"postgres:[^@]+@", "postgres@", database_url), connect_timeout=5)
    finally:
        stop_dev(dev)
    # As root, Postgres runs as a system user that an ACL entry alone lets through to pgdata/: the
    # mode's group bits show that ACL's mask (--x); root's group itself, and others, get nothing.
    assert stat.S_IMODE(data_dir.stat().st_mode) == (0o710 if os.geteuid() == 0 else 0o700)
    for path in data_dir.iterdir():
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((data_dir / "spool").stat().st_mode) == 0o700  # it holds bodies while Postgres is down
    (data_dir / "spool").chmod(0o755)  # as earlier versions made it; the server refuses that

    # The next day: the same port and password, so the same DATABASE_URL, and the data is still there.
    dev = start_dev(data_dir, port, tmp_path / "dev.log", env)
    try:
        assert sourced(data_dir / "env")["DATABASE_URL"] == database_url
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            assert conn.execute("SELECT count(*) FROM webhook_events").fetchone() == (1,)
    finally:
        stop_dev(dev)
    assert stat.S_IMODE((data_dir / "spool").stat().st_mode) == 0o700


def test_send_names_its_secret_and_says_when_it_has_no_sample_for_a_type(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "STRIPE_WEBHOOK_SECRET"}
    env["WEBHOOK_DEV_DIR"] = str(tmp_path / "none")
    url = f"http://127.0.0.1:{free_port()}/webhooks/stripe"  # nobody listens: only what send says matters
    result = subprocess.run(
        [
            *CLI,
            "send",
            "stripe",
            "--url",
            url,
            "--secret",
            "whsec_given",
            "--type",
            "radar.early_fraud_warning.created",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "signing with the secret given with --secret" in result.stderr
    assert "no stripe sample for 'radar.early_fraud_warning.created'" in result.stderr
    assert "invoice.*" in result.stderr  # the types it has
    from_env = subprocess.run(
        [*CLI, "send", "stripe", "--url", url],
        env=env | {"STRIPE_WEBHOOK_SECRET": "whsec_exported"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "signing with STRIPE_WEBHOOK_SECRET from the environment" in from_env.stderr


def test_send_without_a_secret_says_how_to_get_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "STRIPE_WEBHOOK_SECRET"}
    env["WEBHOOK_DEV_DIR"] = str(tmp_path / "none")
    result = subprocess.run([*CLI, "send", "stripe"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "STRIPE_WEBHOOK_SECRET" in result.stderr


def test_send_to_an_unknown_sender_lists_the_senders() -> None:
    result = subprocess.run([*CLI, "send", "paypal"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "no sender or endpoint named 'paypal': send one of stripe, github, shopify, slack, standard" in result.stderr
    assert "WEBHOOK_ENDPOINTS_FILE" in result.stderr


def test_send_with_a_wrong_secret_to_a_dev_server_says_drop_it(
    start_server: Callable[..., GunicornServer], tmp_path: Path
) -> None:
    """The server's 400 says "check STRIPE_WEBHOOK_SECRET", a variable dev never reads."""
    server = start_server()  # verifies with STRIPE_SECRET, as dev would with its own file
    dev_dir = tmp_path / "dev"
    dev_dir.mkdir()
    (dev_dir / "stripe-webhook-secret").write_text(STRIPE_SECRET)
    send = [*CLI, "send", "stripe", "--url", server.url("/webhooks/stripe")]
    env = {**os.environ, "WEBHOOK_DEV_DIR": str(dev_dir)}
    wrong = subprocess.run([*send, "--secret", "whsec_wrong"], env=env, capture_output=True, text=True, timeout=30)
    assert wrong.returncode != 0 and "→ 400" in wrong.stdout
    assert f"`webhook-server dev` verifies with its own ({dev_dir / 'stripe-webhook-secret'})" in wrong.stderr
    assert "send without --secret" in wrong.stderr
    right = subprocess.run(send, env=env, capture_output=True, text=True, timeout=30)
    assert right.returncode == 0 and "refused" not in right.stderr, right.stderr


def test_an_operator_command_without_database_url_says_where_dev_keeps_one() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run([*CLI, "events", "list"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "Missing option '--database-url'" in result.stderr
    assert "source .webhook-dev/env" in result.stderr


def test_migrate_without_database_url_names_it() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run([*CLI, "migrate"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_version_license_and_changelog_agree_with_setup_cfg() -> None:
    version = next(
        line.split("=", 1)[1].strip()
        for line in (REPO_ROOT / "setup.cfg").read_text().splitlines()
        if line.startswith("version =")
    )
    result = subprocess.run([*CLI, "--version"], capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout.strip()) == (0, f"webhook-server, version {version}")
    license_text = (REPO_ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License") and "webhook-server contributors" in license_text
    assert f"\n## {version} " in (REPO_ROOT / "CHANGELOG.md").read_text()
