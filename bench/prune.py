"""Retention benchmark: ingest's latency while a prune of 1 M finished events runs, and without.

One gunicorn with the shipped configuration runs against its own durable Postgres (fsync and
synchronous_commit on) holding ``--rows`` done events received 40 days ago, each with a
realistic Stripe payload. wrk posts signed Stripe deliveries at a steady ``--rate`` (each
connection waits a random time before each request, calibrated once), and in the same run:

(a) without a prune;
(b) while ``webhook-server prune`` deletes them (batches of 1,000 rows, one transaction each,
    no pause);
(c) without a prune again;
(d) while the worker's pruner deletes them (the same batches, 50 ms apart);

and all four again, ``--rounds`` times in all: other work on the machine moves every figure.

Before (b) and (d) the table is filled again, so each prune has the same ``--rows`` to delete;
a prune that ends before wrk does leaves the end of its run unloaded, which the table shows (the
prune's own seconds beside wrk's). After each fill, a CHECKPOINT: the fill's WAL is not the
prune's cost. wrk is closed-loop, so every p99 is a lower bound.

    .venv/bin/python bench/prune.py [--rows 1000000] [--rate 200] [--duration 20] [--rounds 2]

Exit status: 0 when the runs completed, 1 when a run got non-2xx answers or socket errors, 2
when something could not start.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest import (
    Bench,
    CpuMeter,
    Run,
    calibrate_delay,
    postmaster_pid,
    server_env,
    start_gunicorn,
    stop_gunicorn,
    wait_healthy,
)
from measure import BenchError, durable_postgres_settings, run_in_workdir

from webhook_server import db
from webhook_server.dev import samples
from webhook_server.dev.localdb import LocalPostgres, free_port
from webhook_server.migrations import migrate
from webhook_server.retention.prune import prune
from webhook_server.worker.pruner import PAUSE_SECONDS

FILL_CHUNK = 100_000
FILL = """
INSERT INTO webhook_events (provider, event_id, event_type, payload, received_at, status, attempts,
                            processed_at)
SELECT 'stripe', 'evt_old_' || n, 'payment_intent.succeeded', %(payload)s::jsonb || jsonb_build_object('n', n),
       now() - interval '40 days', 'done', 1, now() - interval '40 days'
FROM generate_series(%(first)s::int, %(last)s::int) AS n
ON CONFLICT DO NOTHING
"""
FILL_KEYS = """
INSERT INTO webhook_event_keys (provider, event_id)
SELECT 'stripe', 'evt_old_' || n FROM generate_series(%(first)s::int, %(last)s::int) AS n
ON CONFLICT DO NOTHING
"""


@dataclass(frozen=True)
class PruneRun:
    label: str
    load: Run
    deleted: int = 0
    prune_seconds: float = 0.0


class PruneInBackground:
    """A prune of everything older than 30 days in a thread, timed, stoppable between batches."""

    def __init__(self, url: str, pause: float) -> None:
        self.url = url
        self.pause = pause
        self.deleted = 0
        self.seconds = 0.0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prune", daemon=True)

    def __enter__(self) -> PruneInBackground:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        started = time.monotonic()
        try:
            with db.connect(self.url, timeout=30) as conn:
                before = datetime.now(UTC) - timedelta(days=30)
                self.deleted = prune(conn, before=before, pause=self.pause, stop=self._stop)
        except BaseException as exc:  # reported in the table, not lost in a thread
            self.error = exc
        self.seconds = time.monotonic() - started


def fill(url: str, rows: int) -> None:
    """``rows`` done events received 40 days ago, each with a realistic payload (the ones a stopped
    prune left are kept, the rest made again)."""
    payload = json.dumps(samples.stripe_event())
    started = time.monotonic()
    with db.connect(url, timeout=600) as conn:
        conn.execute("SELECT webhook_ensure_partitions(current_date - 40, current_date - 40)")
        for first in range(1, rows + 1, FILL_CHUNK):
            chunk = {"first": first, "last": min(rows, first + FILL_CHUNK - 1)}
            conn.execute(FILL, {"payload": payload, **chunk})
            conn.execute(FILL_KEYS, chunk)
        conn.execute("VACUUM ANALYZE webhook_events")
        conn.execute("CHECKPOINT")  # the fill's own WAL is flushed before the run, not during it
    say(f"stored {rows:,} old done events in {time.monotonic() - started:.0f} s")


def benchmark(args: argparse.Namespace, workdir: Path) -> int:
    with LocalPostgres(workdir / "data") as postgres:
        url = postgres.url()
        migrate(url)
        pg = durable_postgres_settings(url)
        port, secret = free_port(), f"whsec_bench_{secrets.token_hex(16)}"
        env = server_env(argparse.Namespace(workers=None, threads=None), url, port, secret)
        log_path = workdir / "gunicorn.log"
        server = start_gunicorn(env, log_path)
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_healthy(server, base_url + "/health", log_path)
            meter = CpuMeter({"gunicorn": server.pid, "postgres": postmaster_pid(postgres)})
            bench = Bench(workdir, base_url, args.connections, secret, meter)
            say(f"calibrating a steady {args.rate} req/s")
            delay_ms = calibrate_delay(bench, args.rate)
            runs = []
            schedule = (
                ("no prune", None),
                ("during `prune` (no pause)", 0.0),
                ("no prune", None),
                (f"during the worker's pruner ({PAUSE_SECONDS * 1000:.0f} ms pauses)", PAUSE_SECONDS),
            )
            for label, pause in schedule * args.rounds:
                if pause is None:
                    say(f"{label}: {args.duration} s")
                    prefix = bench.prepare(args.duration, args.rate * 2)
                    runs.append(PruneRun(label, bench.post(prefix, args.duration, delay_ms)))
                    continue
                fill(url, args.rows)  # first: deliveries are signed for Stripe's 5 minutes
                prefix = bench.prepare(args.duration, args.rate * 2)
                say(f"{label}: {args.duration} s")
                with PruneInBackground(url, pause) as pruning:
                    load = bench.post(prefix, args.duration, delay_ms)
                if pruning.error is not None:
                    raise BenchError(f"the prune failed: {pruning.error}")
                runs.append(PruneRun(label, load, pruning.deleted, pruning.seconds))
        finally:
            stop_gunicorn(server)
    print(
        f"retention benchmark: durable Postgres {pg['server_version']}, {args.rows:,} old done events per prune, "
        f"signed Stripe POSTs at ~{args.rate} req/s from {args.connections} connections, {args.duration} s a run"
    )
    print("| run | req/s | p50 ms | p99 ms | non-2xx | rows pruned | prune s | rows/s | other load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        rate = run.deleted / run.prune_seconds if run.prune_seconds else 0
        print(
            f"| {run.label} | {run.load.rps:.0f} | {run.load.p50_ms:.1f} | {run.load.p99_ms:.1f} | "
            f"{run.load.non_2xx + run.load.socket_errors} | {run.deleted:,} | {run.prune_seconds:.1f} | "
            f"{rate:,.0f} | {run.load.cpu['other'] / run.load.seconds:.2f} |"
        )
    print("note: a prune may outlast wrk's run (stopped then, between batches) or end before it (rows/s says which)")
    return 1 if any(run.load.failed for run in runs) else 0


def say(message: str) -> None:
    print(f"[prune] {message}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="old events each prune deletes")
    parser.add_argument("--rate", type=float, default=200, help="signed POSTs per second")
    parser.add_argument("--duration", type=int, default=20, help="seconds per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="times the four runs are repeated (default 2)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    return run_in_workdir("prune", lambda workdir: benchmark(args, workdir), needs_wrk=True)


if __name__ == "__main__":
    sys.exit(main())
