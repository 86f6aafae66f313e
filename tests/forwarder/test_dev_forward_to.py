"""`webhook-server dev --forward-to URL`: a sender's test event reaches a local app, signed so it can verify it."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.acceptance.test_cli import CLI
from tests.forwarder.destination_app import DestinationApp
from tests.harness.gunicorn import start_logged, wait_until_healthy
from tests.harness.polling import wait_for
from webhook_server.dev.localdb import free_port


def test_dev_forwards_what_send_sends_to_the_local_app(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "dev", free_port()
    # The app verifies with the secret dev keeps in its directory: made there before dev starts.
    data_dir.mkdir(mode=0o700)
    (data_dir / "forward-secret").write_text("whsec_" + "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=\n")
    (data_dir / "forward-secret").chmod(0o600)
    app = DestinationApp("whsec_YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    command = [*CLI, "dev", "--data-dir", str(data_dir), "--port", str(port), "--dashboard-port", str(free_port())]
    dev = start_logged([*command, "--forward-to", app.url("/hooks")], tmp_path / "dev.log", env=env)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/health", tmp_path / "dev.log", dev, timeout=60)
        assert f"forwarding to:             {app.url('/hooks')}" in (tmp_path / "dev.log").read_text()
        sent = subprocess.run(
            [*CLI, "send", "stripe", "--url", f"http://127.0.0.1:{port}/webhooks/stripe", "--id", "evt_fwd"],
            env={**env, "WEBHOOK_DEV_DIR": str(data_dir)},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert sent.returncode == 0, sent.stderr
        wait_for(lambda: app.at("/hooks"), 30, lambda: "the event at the app:\n" + (tmp_path / "dev.log").read_text())
        (received,) = app.at("/hooks")
        assert received.verified and received.headers["webhook-id"] == "stripe_evt_fwd"
    finally:
        os.killpg(dev.pid, signal.SIGINT)
        dev.wait(30)
        app.close()


def test_a_bad_forward_url_stops_dev_with_the_fix(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [
            *CLI,
            "dev",
            "--data-dir",
            str(tmp_path / "dev"),
            "--port",
            str(free_port()),
            "--dashboard-port",
            str(free_port()),
            "--forward-to",
            "localhost:3000/webhooks",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert (
        "Invalid value for --forward-to" in result.stderr and "url must start with http:// or https://" in result.stderr
    )
