"""The commands a new user types, run as processes: `webhook-server dev`, `send stripe`, Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from webhook_server.dev.localdb import free_port
from webhook_server.harness.dashboard import csrf_token
from webhook_server.harness.gunicorn import wait_until_healthy
from webhook_server.harness.polling import wait_for

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


def test_dev_serves_send_delivers_the_worker_handles_and_ctrl_c_leaves_nothing_behind(tmp_path: Path) -> None:
    data_dir, port, dashboard_port = tmp_path / "dev", free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "STRIPE_WEBHOOK_SECRET")}
    log = (tmp_path / "dev.log").open("wb")
    dev = subprocess.Popen(
        [*CLI, "dev", "--data-dir", str(data_dir), "--port", str(port), "--dashboard-port", str(dashboard_port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/health", tmp_path / "dev.log", dev, timeout=60)
        assert f"http://127.0.0.1:{port}" in (tmp_path / "dev.log").read_text()
        assert f"spool (Postgres down):     {data_dir / 'spool'}" in (tmp_path / "dev.log").read_text()
        assert (data_dir / "spool").is_dir()  # the server validated it at start

        send = [*CLI, "send", "stripe", "--url", f"http://127.0.0.1:{port}/webhooks/stripe", "--id", "evt_cli"]
        send_env = {**env, "WEBHOOK_DEV_DIR": str(data_dir)}  # the dev server's secret, as the README says
        first = subprocess.run(send, env=send_env, capture_output=True, text=True, timeout=30)
        again = subprocess.run(send, env=send_env, capture_output=True, text=True, timeout=30)
        assert first.returncode == 0, first.stderr
        assert "→ 200" in first.stdout and '"duplicate":false' in first.stdout
        assert '"duplicate":true' in again.stdout
        for provider in ("github", "shopify", "slack", "standard"):  # each with its own dev secret
            url = f"http://127.0.0.1:{port}/webhooks/{provider}"
            sent = subprocess.run(
                [*CLI, "send", provider, "--url", url], env=send_env, capture_output=True, text=True, timeout=30
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

        os.killpg(dev.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        dev.wait(30)
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
        log.close()
    assert processes_in_session(dev.pid) == []
    assert processes_mentioning(str(data_dir)) == []


def test_send_without_a_secret_says_how_to_get_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "STRIPE_WEBHOOK_SECRET"}
    env["WEBHOOK_DEV_DIR"] = str(tmp_path / "none")
    result = subprocess.run([*CLI, "send", "stripe"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "STRIPE_WEBHOOK_SECRET" in result.stderr


def test_migrate_without_database_url_names_it() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run([*CLI, "migrate"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
