"""Spool benchmark: how fast deliveries are acknowledged while spooling, and how fast the spool drains.

One gunicorn with the shipped config and WEBHOOK_SPOOL_DIR set, its own durable Postgres, wrk
on the same machine (the Lua script and request files of bench/ingest.py):

(a) signed POSTs while the inbox fails at once: the database exists but is not migrated, so
    every insert fails immediately (UndefinedTable) and each delivery is spooled. This is the
    spool's own cost, as with the circuit breaker open (Postgres known to be down);
(b) signed POSTs with Postgres stopped: each delivery first waits WEBHOOK_DB_TIMEOUT for a
    commit that never comes (what happens until the circuit breaker knows Postgres is down);
(c) the drain: `migrate` (or Postgres started again), then the time from the first spooled row
    in webhook_events to an empty spool, with every worker's drainer at work.

At the end every delivery wrk saw acknowledged must be in webhook_events exactly once.

    .venv/bin/python bench/spool.py [--connections 32] [--duration 15]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from ingest import WARMUP_SECONDS, Bench, CpuMeter, Run, say, start_gunicorn, stop_gunicorn, wait_healthy
from measure import BenchError, durable_postgres_settings, run_in_workdir

from webhook_server import db
from webhook_server.dev.localdb import LocalPostgres, free_port
from webhook_server.migrations import migrate
from webhook_server.settings import Settings
from webhook_server.spool.store import read_summary

DATABASE = "spoolbench"
DRAIN_TIMEOUT_SECONDS = 300
POLL_SECONDS = 0.02


def stored(url: str) -> tuple[int, int]:
    """Rows in webhook_events, and distinct event ids among them (0, 0 before the migration)."""
    try:
        with db.connect(url) as conn:
            return conn.execute("SELECT count(*), count(DISTINCT event_id) FROM webhook_events").fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.OperationalError):
        return 0, 0


@dataclass(frozen=True)
class Drain:
    events: int
    # From Postgres usable to an empty spool: the drainers' retry wait included.
    recovery_seconds: float
    # From the first drained row in webhook_events to an empty spool (None: too quick to see).
    drain_seconds: float | None

    def describe(self) -> str:
        rate = "" if not self.drain_seconds else f", {self.events / self.drain_seconds:,.0f} events/s once started"
        return f"{self.events:,} events, spool empty {self.recovery_seconds:.2f} s after Postgres was usable{rate}"


def measure_drain(url: str, spool_dir: Path, start: Callable[[], object]) -> Drain:
    """Call ``start`` (Postgres becomes usable) and time the drain."""
    events = read_summary(spool_dir).events
    start()
    usable = time.monotonic()
    deadline = usable + DRAIN_TIMEOUT_SECONDS
    before = stored(url)[0]
    first = None
    while read_summary(spool_dir).events:
        if time.monotonic() > deadline:
            raise BenchError(f"the spool did not drain within {DRAIN_TIMEOUT_SECONDS} s")
        if first is None and stored(url)[0] > before:
            first = time.monotonic()
        time.sleep(POLL_SECONDS)
    end = time.monotonic()
    return Drain(events, end - usable, None if first is None else end - first)


def benchmark(args: argparse.Namespace, workdir: Path) -> int:
    with LocalPostgres(workdir / "data") as postgres:
        with psycopg.connect(postgres.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        url = postgres.url(DATABASE)
        pg = durable_postgres_settings(postgres.url())
        port, secret, spool_dir = free_port(), f"whsec_bench_{secrets.token_hex(16)}", workdir / "spool"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "STRIPE_WEBHOOK_SECRET": secret,
            "WEBHOOK_BIND": f"127.0.0.1:{port}",
            "WEBHOOK_SPOOL_DIR": str(spool_dir),
        }
        log_path = workdir / "gunicorn.log"
        server = start_gunicorn(env, log_path)
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_healthy(server, base_url + "/health", log_path)
            meter = CpuMeter({"gunicorn": server.pid})
            bench = Bench(workdir, base_url, args.connections, secret, meter)
            say(f"(a) spooling, inbox failing at once: {WARMUP_SECONDS} s warm-up, then {args.duration} s")
            bench.post(bench.prepare(WARMUP_SECONDS, 5000), WARMUP_SECONDS)
            fast = bench.post(bench.prepare(args.duration, 5000), args.duration)
            say("(c) migrate; draining")
            fast_drain = measure_drain(url, spool_dir, lambda: migrate(url))
            # Fewer connections than gunicorn threads: each answer takes WEBHOOK_DB_TIMEOUT, and a
            # request queued behind a busy thread would pass wrk's 2 s timeout.
            waiting = Bench(workdir, base_url, Settings.from_env(env).threads, secret, meter)
            say(f"(b) spooling, Postgres stopped: {args.duration} s, {waiting.connections} connections")
            postgres.stop()
            slow = waiting.post(waiting.prepare(args.duration, 1000), args.duration)
            say("(c) Postgres started; draining")
            slow_drain = measure_drain(url, spool_dir, postgres.start)
        finally:
            stop_gunicorn(server)
        rows, distinct = stored(url)
    print(
        f"spool benchmark (gunicorn with the shipped config, durable Postgres {pg['server_version']}, "
        f"wrk -c{args.connections} (b: -c{waiting.connections}) -d{args.duration}s, {os.cpu_count()} cores)"
    )
    print(f"| {'load':<48} | {'req/s':>7} | {'p50 ms':>8} | {'p99 ms':>8} | {'non-2xx':>7} | {'CPU us/req':>10} |")
    runs = (("(a) POST, spooled (inbox fails at once)", fast), ("(b) POST, spooled (Postgres stopped)", slow))
    for label, run in runs:
        print(
            f"| {label:<48} | {run.rps:>7.0f} | {run.p50_ms:>8.2f} | {run.p99_ms:>8.2f} | {run.non_2xx:>7} "
            f"| {run.cpu_us_per_request('gunicorn'):>10.0f} |"
        )
    print(f"(c) drain after (a), migrate: {fast_drain.describe()}")
    print(f"(c) drain after (b), Postgres started: {slow_drain.describe()}")
    return 1 if report_checks([*bench.post_runs, *waiting.post_runs], rows, distinct) else 0


def report_checks(runs: list[Run], rows: int, distinct: int) -> list[str]:
    acknowledged = sum(run.ok - run.duplicates for run in runs)
    in_flight = sum(run.sent - run.answered for run in runs)
    print(f"stored rows: {rows:,} ({distinct:,} distinct) of {acknowledged:,} acknowledged (+{in_flight} in flight)")
    problems = [f"a run had {run.non_2xx} non-2xx and {run.socket_errors} socket errors" for run in runs if run.failed]
    if rows != distinct:
        problems.append(f"{rows - distinct} events stored twice")
    if rows < acknowledged:
        problems.append(f"{acknowledged - rows} acknowledged events are not stored")
    for problem in problems:
        print(f"FAILED: {problem}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per measured run (default 15)")
    args = parser.parse_args()
    return run_in_workdir("spool", lambda workdir: benchmark(args, workdir), needs_wrk=True)


if __name__ == "__main__":
    sys.exit(main())
