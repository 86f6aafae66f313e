"""Worker benchmark: how fast stored events reach ``done``, and how soon after the commit a handler starts.

Real ``webhook-server worker`` processes (default settings: 8 threads, batches of 100) run
against their own durable Postgres (fsync and synchronous_commit on), with the handlers of
``bench/worker_handlers.py``:

(a) throughput, for each handler of ``--handlers`` and 1 then 2 worker processes: ``--events``
    realistic Stripe payloads are stored in one transaction (one NOTIFY) with that handler
    registered for them (no-op or a one-row insert, each plain and transactional); the rate
    is events / (last ``processed_at`` - the commit). Every event must end ``done`` with one
    attempt, i.e. claimed once, and each insert handler must leave one row per event.
(b) latency at a steady low rate: one worker; events are stored one per transaction with the
    ingest's own statement (``insert_events.sql``) at ``--rate`` per second, open loop; a
    handler notes when it started. Latency = handler start - the moment the commit returned,
    which is when the server would answer 200. The poll is the default 5 s, so only NOTIFY
    can make this fast.

CPU per event (from /proc: the workers, and Postgres' whole process tree) is reported, as is
the load of other processes on this machine (this script excluded), which disturbs every number.

    .venv/bin/python bench/worker.py [--events 50000] [--handlers noop,noop_tx,insert,insert_tx]
                                     [--rate 50] [--seconds 10]

The issue's targets: >= 5,000 events/s with a no-op handler; an event reaches its handler within
50 ms of the 200 at low load. Exit status: 0 when the runs completed (targets met or not),
1 when an event was lost, run twice or not done, 2 when something could not start.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from measure import (
    BenchError,
    Latency,
    durable_postgres_settings,
    machine_busy_seconds,
    run_in_workdir,
    tail,
    tree_cpu_seconds,
)

from tests.harness.gunicorn import start_logged
from webhook_server import db
from webhook_server.dev import samples
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.inbox import IncomingEvent, insert_events
from webhook_server.migrations import migrate

BENCH_DIR = Path(__file__).resolve().parent
WORKER_SCRIPT = Path(sys.executable).parent / "webhook-server"
READY_SECONDS = 30
STOP_SECONDS = 15
# A throughput run that takes longer than this has failed (1,000 events/s for 50,000 is 50 s).
DONE_TIMEOUT_FACTOR = 1 / 500
OTHER_LOAD_WARNING = 0.1
# How often the benchmark asks whether the workers are done.
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Throughput:
    handler: str
    workers: int
    events: int
    seconds: float
    cpu_worker_us: float
    cpu_postgres_us: float
    other_load: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds


class Workers:
    """``count`` worker processes with the bench handlers, started and stopped together."""

    def __init__(self, database_url: str, count: int, workdir: Path) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "WEBHOOK_HANDLER_MODULES": "worker_handlers",
            "PYTHONPATH": str(BENCH_DIR),
            "BENCH_LATENCY_DIR": str(workdir),
            "WEBHOOK_LOG_LEVEL": "info",
        }
        self.logs = [workdir / f"worker-{count}-{n}.log" for n in range(count)]
        self.processes = []
        for log_path in self.logs:
            self.processes.append(start_logged([str(WORKER_SCRIPT), "worker"], log_path, env=env))

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        for process, log in zip(self.processes, self.logs, strict=True):
            while "listening for new events" not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"worker not ready (exit {process.returncode}):\n{tail(log)}")
                time.sleep(0.05)

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(process.pid for process in self.processes)

    def stop(self) -> None:
        """SIGTERM, as systemd would; a worker that does not exit 0 in time fails the benchmark."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process, log in zip(self.processes, self.logs, strict=True):
            try:
                code = process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise BenchError(f"a worker did not stop within {STOP_SECONDS} s:\n{tail(log)}") from None
            if code != 0:
                raise BenchError(f"a worker exited with {code}:\n{tail(log)}")


def throughput(postgres: LocalPostgres, handler: str, workers: int, events: int, workdir: Path) -> Throughput:
    url = postgres.url()
    _truncate(url)
    pool = Workers(url, workers, workdir)
    try:
        pool.wait_ready()
        payload = json.dumps(samples.stripe_event("payment_intent.succeeded"))
        before, window_started = _cpu_snapshot(pool, postgres), time.monotonic()
        with db.connect(url, timeout=120) as conn:
            conn.execute(
                "INSERT INTO webhook_events (provider, event_id, event_type, payload) "
                "SELECT 'bench', 'evt_' || n, %s, %s::jsonb FROM generate_series(1, %s) AS n",
                (handler, payload, events),
            )
            committed = time.time()
            deadline = time.monotonic() + max(30.0, events * DONE_TIMEOUT_FACTOR)
            while _unfinished(conn):
                if time.monotonic() > deadline:
                    raise BenchError(f"{workers} workers did not finish {events:,} events in time")
                time.sleep(POLL_SECONDS)
            worker_cpu, pg_cpu, other = _cpu_spent(before, _cpu_snapshot(pool, postgres))
            other_load = other / (time.monotonic() - window_started)
            (last,) = conn.execute(
                "SELECT extract(epoch FROM max(processed_at))::float8 FROM webhook_events"
            ).fetchone()
            claims = conn.execute("SELECT status, attempts, count(*) FROM webhook_events GROUP BY 1, 2").fetchall()
            (rows,) = conn.execute("SELECT count(*) FROM bench_effects").fetchone()
    finally:
        pool.stop()
    if claims != [("done", 1, events)]:
        raise BenchError(f"every event should be done, claimed once; (status, attempts, events): {claims}")
    if handler.startswith("insert") and rows != events:
        raise BenchError(f"{handler}: {rows:,} rows inserted for {events:,} events")
    seconds = last - committed
    return Throughput(handler, workers, events, seconds, worker_cpu / events * 1e6, pg_cpu / events * 1e6, other_load)


def latency(postgres: LocalPostgres, rate: float, seconds: float, workdir: Path) -> Latency:
    url = postgres.url()
    _truncate(url)
    pool = Workers(url, 1, workdir)
    count = int(rate * seconds)
    committed: dict[str, float] = {}
    try:
        pool.wait_ready()
        time.sleep(1)  # past the claim each worker makes at start
        before = _cpu_snapshot(pool, postgres)
        started = time.monotonic()
        with db.connect(url) as conn:
            for number in range(count):
                time.sleep(max(0.0, started + number / rate - time.monotonic()))
                event = samples.stripe_event("latency", event_id=f"evt_latency{number:07d}")
                insert_events(conn, [IncomingEvent("bench", event["id"], "latency", json.dumps(event))])
                committed[event["id"]] = time.time()
            wait_until = time.monotonic() + 10
            while _unfinished(conn):
                if time.monotonic() > wait_until:
                    raise BenchError("the latency events were not all done 10 s after the last one")
                time.sleep(POLL_SECONDS)
        elapsed = time.monotonic() - started
        other = _cpu_spent(before, _cpu_snapshot(pool, postgres))[2] / elapsed
    finally:
        pool.stop()
    handler_starts = {}
    for path in workdir.iterdir():
        if path.name.isdigit():
            for line in path.read_text().splitlines():
                event_id, at = line.split()
                if event_id in handler_starts:
                    raise BenchError(f"{event_id} reached a handler twice")
                handler_starts[event_id] = float(at)
    if set(handler_starts) != set(committed):
        raise BenchError(f"{len(set(committed) - set(handler_starts))} events never reached their handler")
    delays = sorted((handler_starts[event_id] - at) * 1000 for event_id, at in committed.items())
    return Latency(
        count, count / elapsed, statistics.median(delays), delays[int(len(delays) * 0.99)], delays[-1], max(0.0, other)
    )


def _unfinished(conn: psycopg.Connection) -> bool:
    """Whether any event is still pending: stops at the first one found, so polling costs Postgres little."""
    return conn.execute("SELECT EXISTS (SELECT FROM webhook_events WHERE status = 'pending')").fetchone()[0]


def _truncate(url: str) -> None:
    with db.connect(url) as conn:
        conn.execute("TRUNCATE webhook_events")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_effects (event_id text NOT NULL)")
        conn.execute("TRUNCATE bench_effects")


def _postgres_cpu(postgres: LocalPostgres) -> float:
    """Postgres' CPU: the postmaster and its children (backends, WAL writer, checkpointer…)."""
    return tree_cpu_seconds([int((postgres.data_dir / "postmaster.pid").read_text().split()[0])])


def _cpu_snapshot(pool: Workers, postgres: LocalPostgres) -> tuple[float, float, float, float]:
    """CPU seconds so far of the workers, Postgres, this script, and the whole machine."""
    own = os.times()
    return pool.cpu_seconds(), _postgres_cpu(postgres), own.user + own.system, machine_busy_seconds()


def _cpu_spent(before: tuple[float, ...], after: tuple[float, ...]) -> tuple[float, float, float]:
    """Workers' and Postgres' CPU seconds between two snapshots, and everyone else's (this script excluded)."""
    workers, postgres, own, machine = (later - earlier for earlier, later in zip(before, after, strict=True))
    return workers, postgres, max(0.0, machine - workers - postgres - own)


def print_table(runs: list[Throughput], low: Latency) -> None:
    print(f"| {'run':<50} | {'events/s':>8} | {'CPU us/event: workers':>21} | {'postgres':>8} | {'other load':>10} |")
    for run in runs:
        label = f"{run.handler}, {run.workers} worker process{'es' if run.workers > 1 else ''}, {run.events:,} events"
        print(
            f"| {label:<50} | {run.rate:>8,.0f} | {run.cpu_worker_us:>21.0f} | {run.cpu_postgres_us:>8.0f} "
            f"| {run.other_load:>10.2f} |"
        )
    print()
    print(f"| {'commit → handler start':<50} | {'p50 ms':>8} | {'p99 ms':>8} | {'max ms':>8} | {'other load':>10} |")
    label = f"{low.events} events at {low.rate:.0f}/s, 1 worker"
    print(f"| {label:<50} | {low.p50_ms:>8.2f} | {low.p99_ms:>8.2f} | {low.max_ms:>8.2f} | {low.other_load:>10.2f} |")
    best = max((run.rate for run in runs if run.handler == "noop"), default=0.0)
    print(
        f"targets: >= 5,000 events/s with a no-op handler (best {best:,.0f}); "
        f"p99 commit → handler within 50 ms ({low.p99_ms:.1f} ms)"
    )
    if max([run.other_load for run in runs] + [low.other_load]) > OTHER_LOAD_WARNING:
        print("WARNING: other processes kept this machine's cores busy during a run: the numbers are disturbed")


def benchmark(args: argparse.Namespace, workdir: Path) -> int:
    with LocalPostgres(workdir / "data") as postgres:
        migrate(postgres.url())
        pg = durable_postgres_settings(postgres.url())
        runs = []
        for handler in args.handlers.split(","):
            for workers in (1, 2):
                say(f"throughput: {args.events:,} events, {handler} handler, {workers} worker process(es)")
                runs.append(throughput(postgres, handler, workers, args.events, workdir))
        say(f"latency: {args.rate:g} events/s for {args.seconds:g} s, 1 worker")
        low = latency(postgres, args.rate, args.seconds, workdir)
    print(
        f"worker benchmark (webhook-server worker defaults: 8 threads, batches of 100; durable Postgres "
        f"{pg['server_version']} (fsync={pg['fsync']}, synchronous_commit={pg['synchronous_commit']}), "
        f"{os.cpu_count()} cores shared by workers, Postgres and this script)"
    )
    print_table(runs, low)
    return 0


def say(message: str) -> None:
    print(f"[worker] {message}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000, help="events per throughput run (default 50,000)")
    parser.add_argument(
        "--handlers",
        default="noop,noop_tx,insert,insert_tx",
        help="comma-separated handlers of bench/worker_handlers.py for the throughput runs (default all four)",
    )
    parser.add_argument("--rate", type=float, default=50, help="events/s in the latency run (default 50)")
    parser.add_argument("--seconds", type=float, default=10, help="length of the latency run (default 10)")
    args = parser.parse_args()
    return run_in_workdir("worker", lambda workdir: benchmark(args, workdir))


if __name__ == "__main__":
    sys.exit(main())
