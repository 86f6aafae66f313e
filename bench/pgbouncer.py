"""PgBouncer benchmark (issue 25): one server straight on Postgres against one through PgBouncer.

One durable Postgres (fsync and synchronous_commit on; the role carries synchronous_commit and
statement_timeout, docs/how-to/pgbouncer.md), Debian's PgBouncer 1.18 from the shipped
deploy/pgbouncer/pgbouncer.ini (transaction pooling, 20 server connections), and two gunicorns
with the shipped configuration: "direct" on Postgres, "pgbouncer" on the pooler with
WEBHOOK_DB_POOLER=transaction. wrk posts signed Stripe deliveries with new ids at full speed
(closed loop), the two alternated ABBA in one run; every acknowledged delivery must be stored.

    PYTHONPATH=. .venv/bin/python bench/pgbouncer.py [--duration 10] [--connections 32] [--rounds 2]

(PYTHONPATH=.: the paddle-python-sdk wheel installs a top-level ``tests`` package that hides the
checkout's from scripts run outside pytest.)

Exit status: 0 when the runs completed, 1 when a run got non-2xx answers or socket errors or an
acknowledged event is missing, 2 when something could not start.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import secrets
import statistics
import sys
from pathlib import Path

import psycopg
from ingest import (
    Bench,
    CpuMeter,
    check_rows,
    postmaster_pid,
    run_alternating,
    server_env,
    start_gunicorn,
    stop_gunicorn,
    stored_rows,
    wait_healthy,
)
from measure import durable_postgres_settings, run_in_workdir

from tests.harness.pgbouncer import PgBouncer
from webhook_server import db
from webhook_server.dev.localdb import LocalPostgres, free_port
from webhook_server.errors import ConfigError
from webhook_server.migrations import migrate

# The shipped file's server connections, kept in the bench: what a deployment would run.
POOL_SIZE = 20
ROLE_SETTINGS = (
    "ALTER ROLE postgres SET synchronous_commit = 'on'",
    "ALTER ROLE postgres SET statement_timeout = '5s'",
)


def benchmark(args: argparse.Namespace, workdir: Path) -> int:
    with LocalPostgres(workdir / "data") as postgres, contextlib.ExitStack() as stack:
        migrate(postgres.url())
        with psycopg.connect(postgres.url(), autocommit=True) as conn:
            for statement in ROLE_SETTINGS:
                conn.execute(statement)
        bouncer = PgBouncer(workdir / "bouncer", postgres, pool_size=POOL_SIZE)
        stack.callback(bouncer.kill)
        pg = durable_postgres_settings(postgres.url())
        secret = f"whsec_bench_{secrets.token_hex(16)}"
        postmaster = postmaster_pid(postgres)
        benches = []
        for name, url, extra in (
            ("direct", postgres.url(), {}),
            ("pgbouncer", bouncer.url(), {db.POOLER_VARIABLE: "transaction"}),
        ):
            port = free_port()
            env = {**server_env(args, url, port, secret, workdir), **extra}
            log_path = workdir / f"{name}.log"
            server = start_gunicorn(env, log_path)
            stack.callback(stop_gunicorn, server)
            base_url = f"http://127.0.0.1:{port}"
            wait_healthy(server, base_url + "/health", log_path)
            meter = CpuMeter({"gunicorn": server.pid, "postgres": postmaster, "pgbouncer": bouncer.process.pid})
            benches.append(Bench(workdir, base_url, args.connections, secret, meter, f"evt_bench_{name}_", name))
        health = benches[0].health(args.duration)
        runs = run_alternating(benches, args.rounds, args.duration, health.rps)
        stack.close()
        rows = {bench.name: stored_rows(postgres.url(), bench.id_prefix) for bench in benches}
    print(
        f"PgBouncer benchmark: the shipped gunicorn config direct vs through PgBouncer 1.18 (transaction, "
        f"{POOL_SIZE} server connections); durable Postgres {pg['server_version']} (fsync={pg['fsync']}, "
        f"synchronous_commit={pg['synchronous_commit']}); wrk -c{args.connections} -d{args.duration}s, "
        f"{args.rounds} alternated rounds; {os.cpu_count()} cores"
    )
    print(
        f"| {'run':<12} | {'req/s':>7} | {'p50 ms':>6} | {'p99 ms':>6} | {'CPU us/req: gunicorn':>20} "
        f"| {'postgres':>8} | {'pgbouncer':>9} |"
    )
    for name, named in runs.items():
        for number, run in enumerate(named, 1):
            print(
                f"| {f'{name} {number}':<12} | {run.rps:>7.0f} | {run.p50_ms:>6.2f} | {run.p99_ms:>6.2f} "
                f"| {run.cpu_us_per_request('gunicorn'):>20.0f} | {run.cpu_us_per_request('postgres'):>8.0f} "
                f"| {run.cpu_us_per_request('pgbouncer'):>9.0f} |"
            )
    medians = {
        name: tuple(statistics.median(getattr(run, field) for run in named) for field in ("rps", "p50_ms", "p99_ms"))
        for name, named in runs.items()
    }
    (d_rps, d_p50, d_p99), (b_rps, b_p50, b_p99) = medians["direct"], medians["pgbouncer"]
    print(f"\nmedians: direct {d_rps:.0f} req/s p99 {d_p99:.2f} ms; pgbouncer {b_rps:.0f} req/s p99 {b_p99:.2f} ms")
    print(f"pgbouncer / direct: req/s {b_rps / d_rps:.2f}x, p50 {b_p50 / d_p50:.2f}x, p99 {b_p99 / d_p99:.2f}x")
    problems = list(itertools.chain.from_iterable(check_rows(bench, rows[bench.name]) for bench in benches))
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=32, help="wrk connections, all runs (default 32)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="measured runs of each, alternated (default 2)")
    parser.add_argument("--workers", type=int, help="WEBHOOK_WORKERS (default: the shipped config's)")
    parser.add_argument("--threads", type=int, help="WEBHOOK_THREADS (default: the shipped config's)")
    parser.add_argument("--spool", action="store_true", help="WEBHOOK_SPOOL_DIR set (default: unset)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    return run_in_workdir(
        "pgbouncer", lambda workdir: benchmark(args, workdir), needs_wrk=True, setup_errors=(ConfigError,)
    )


if __name__ == "__main__":
    sys.exit(main())
