"""The classic deploy 502, reproduced behind a real nginx, and the same restart done our way.

1. kill -9: one gunicorn behind nginx, signed webhooks streaming in; the app is killed with
   SIGKILL and started again. Connections refused meanwhile become 502s at nginx.
2. graceful: the same, but the app runs under socket activation (the socket outlives the
   process, as with systemd's .socket unit) and is restarted with SIGTERM. Deliveries that
   arrive between the two processes wait in the kernel's queue instead of failing.

Run with ``scripts/reproduce-502`` (needs nginx on PATH). The last line is exactly
``reproduce: kill9_failed=N graceful_failed=M sent=K``.
"""

from __future__ import annotations

import argparse
import signal
import tempfile
import time
from pathlib import Path

from tests.harness.gunicorn import GunicornServer, kill_group
from tests.harness.launcher import SocketLauncher
from tests.harness.load import Ledger, SignedLoad
from tests.harness.postgres import NOT_DURABLE
from tests.harness.proxies import running_nginx
from webhook_server.dev.localdb import LocalPostgres, free_port
from webhook_server.migrations import migrate


def kill9_restart(workdir: Path, database_url: str, rate: float, settle: float) -> Ledger:
    port = free_port()
    server = GunicornServer(database_url, workdir / "kill9-old.log", port=port)
    replacement = None
    try:
        server.wait_until_healthy()
        with (
            running_nginx(_fresh(workdir / "nginx-kill9"), [port]) as nginx,
            SignedLoad(nginx.url("/webhooks/stripe"), rate) as load,
        ):
            time.sleep(settle)
            kill_group(server.process)  # kill -9 of the master and its workers
            replacement = GunicornServer(database_url, workdir / "kill9-new.log", port=port)
            replacement.wait_until_healthy()
            time.sleep(settle)
    finally:
        server.kill()
        if replacement is not None:
            replacement.kill()
    return load.ledger


def graceful_restart(workdir: Path, database_url: str, rate: float, settle: float) -> Ledger:
    launcher = SocketLauncher.for_app(database_url, workdir / "graceful.log")
    try:
        launcher.start()
        launcher.wait_until_healthy()
        with (
            running_nginx(_fresh(workdir / "nginx-graceful"), [launcher.port]) as nginx,
            SignedLoad(nginx.url("/webhooks/stripe"), rate) as load,
        ):
            time.sleep(settle)
            launcher.restart()  # SIGTERM, wait for the exit, start the next process on the same socket
            launcher.wait_until_healthy()
            time.sleep(settle)
    finally:
        launcher.close()
    return load.ledger


def _fresh(directory: Path) -> Path:
    directory.mkdir()
    return directory


def report(name: str, ledger: Ledger) -> None:
    print(f"{name}: {len(ledger.acknowledged)} acknowledged, {len(ledger.failures)} failed")
    for failure in ledger.failures[:3]:
        print(f"  e.g. {' '.join(failure.split())[:150]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50, help="signed deliveries per second (default: %(default)s)")
    parser.add_argument(
        "--settle",
        type=float,
        default=2.0,
        help="seconds of traffic before and after each restart (default: %(default)s)",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="reproduce-502-") as tmp:
        workdir = Path(tmp)
        with LocalPostgres(workdir / "postgres", settings=NOT_DURABLE) as postgres:
            migrate(postgres.url())
            kill9 = kill9_restart(workdir, postgres.url(), args.rate, args.settle)
            report("kill -9 and restart", kill9)
            graceful = graceful_restart(workdir, postgres.url(), args.rate, args.settle)
            report("SIGTERM under socket activation", graceful)
    sent = sum(len(ledger.acknowledged) + len(ledger.failures) for ledger in (kill9, graceful))
    print(f"reproduce: kill9_failed={len(kill9.failures)} graceful_failed={len(graceful.failures)} sent={sent}")


if __name__ == "__main__":
    main()
