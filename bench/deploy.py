"""Deploy benchmark: what a rolling deploy costs the senders, this kit against a stock setup.

Both setups run three instances behind the same nginx (the shipped config), the same durable
Postgres, and the same steady stream of signed Stripe deliveries (each a new connection), while
``scripts/rolling-deploy`` replaces the instances one at a time, N times over:

(a) this kit: the shipped gunicorn.conf.py (drain announce, derived graceful timeout, gthread);
(b) stock: ``gunicorn webhook_server.web.wsgi:app`` with gunicorn's defaults (one sync worker, no
    announce), restarted by the same script with the same SIGTERM-then-start.

nginx has no active health check: in both, a stopping instance is left by nginx retrying refused
or reset connections elsewhere (``proxy_next_upstream ... non_idempotent``).

    .venv/bin/python bench/deploy.py [--deploys 2] [--rate 100]

Prints a table; exits 0 when the runs completed, whatever they measured.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.harness.fleet import Fleet
from tests.harness.gunicorn import wait_until_healthy
from tests.harness.load import Ledger, SignedLoad
from tests.harness.proxies import running_nginx
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.migrations import migrate

REPO_ROOT = Path(__file__).resolve().parents[1]

NAMES = ["app1", "app2", "app3"]
# gunicorn's defaults: -c /dev/null keeps it from loading ./gunicorn.conf.py, our config.
STOCK_COMMAND = [
    str(Path(sys.executable).parent / "gunicorn"),
    *("-c", "/dev/null", "--no-control-socket", "-b", "127.0.0.1:{port}", "webhook_server.web.wsgi:app"),
]
LOAD_THREADS = 4


def run_setup(workdir: Path, database_url: str, command: list[str] | None, deploys: int, rate: float) -> tuple:
    workdir.mkdir()
    fleet = Fleet(workdir, database_url, NAMES, command)
    try:
        for name in NAMES:
            wait_until_healthy(fleet.health_url(name), workdir / f"{name}.log")
        instances = [arg for name in NAMES for arg in ("--instance", f"{name}={fleet.health_url(name)}")]
        deploy = [
            str(REPO_ROOT / "scripts" / "rolling-deploy"),
            *("--restart", fleet.restart_command(), "--env-file", str(fleet.env_file)),
            *instances,
        ]
        with running_nginx(workdir, fleet.ports) as nginx, contextlib.ExitStack() as senders:
            url = nginx.url("/webhooks/stripe")
            loads = [
                senders.enter_context(SignedLoad(url, rate / LOAD_THREADS, max_seconds=900))
                for _ in range(LOAD_THREADS)
            ]
            started = time.monotonic()
            for number in range(1, deploys + 1):
                result = subprocess.run(
                    deploy,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    cwd=REPO_ROOT,
                    env=os.environ,
                )
                if result.returncode != 0:
                    raise SystemExit(f"rolling deploy {number} failed:\n{result.stdout}{result.stderr}")
                print(f"[deploy] {workdir.name}: rolling deploy {number}/{deploys} done", file=sys.stderr)
        seconds = time.monotonic() - started
    finally:
        fleet.kill()
    return _merge(load.ledger for load in loads), seconds


def _merge(ledgers) -> Ledger:
    merged = Ledger()
    for ledger in ledgers:
        merged.acknowledged += ledger.acknowledged
        merged.failures += ledger.failures
        merged.latencies += ledger.latencies
    return merged


def _p99_ms(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)] * 1000 if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deploys", type=int, default=2, help="rolling deploys per setup (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=100, help="deliveries per second (default: %(default)s)")
    args = parser.parse_args()
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="deploy-bench-") as tmp,
        LocalPostgres(Path(tmp) / "postgres") as postgres,
    ):
        migrate(postgres.url())
        for label, name, command in (("this kit", "kit", None), ("stock gunicorn", "stock", STOCK_COMMAND)):
            ledger, seconds = run_setup(Path(tmp) / name, postgres.url(), command, args.deploys, args.rate)
            answered = len(ledger.acknowledged) + len(ledger.failures)
            rows.append((label, answered / seconds, len(ledger.failures), _p99_ms(ledger.latencies), seconds))
            for failure in ledger.failures[:3]:
                print(f"[deploy] {label}: e.g. {' '.join(failure.split())[:150]}", file=sys.stderr)
    print(
        f"deploy benchmark: 3 instances behind nginx, {args.deploys} rolling deploys each, "
        f"{args.rate:g} signed deliveries/s offered ({LOAD_THREADS} senders, a new connection each), "
        "durable Postgres"
    )
    print("| setup          | req/s | non-2xx or error | p99 ms | seconds |")
    for label, rps, failed, p99, seconds in rows:
        print(f"| {label:<14} | {rps:5.0f} | {failed:16d} | {p99:6.1f} | {seconds:7.1f} |")


if __name__ == "__main__":
    main()
