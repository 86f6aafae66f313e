"""Fleet benchmark: three server instances on one durable Postgres, with the NOTIFY trigger and without.

Every storing insert fires ``pg_notify`` (the ``webhook_events_notify`` trigger), and a
transaction that notified holds one database-wide lock from its pre-commit until its commit's
WAL flush: the instances' commits cannot overlap their flushes any more. One instance does not
show it; this measures whether a fleet does. Three gunicorns with the shipped configuration
(``--workers`` x ``--threads`` each) share one durable Postgres (fsync and synchronous_commit
on); three wrks, one per instance, post signed Stripe deliveries with new ids at full speed
(closed loop, ``--connections`` each) at the same time. Runs alternate, in one run of this
script: trigger on, off, on, off (``ALTER TABLE … DISABLE TRIGGER`` between them). At the end
every acknowledged delivery must be stored.

During each run a thread samples ``pg_stat_activity`` every 10 ms: of the instances' backends
caught inside a statement, the share waiting on the NOTIFY lock (``Lock: object``, the
database-wide lock a notifying commit holds) and on the WAL flush says whether the trigger
serialises the fleet's commits.

    .venv/bin/python bench/fleet.py [--duration 15] [--connections 16] [--rounds 2]

Exit status: 0 when the runs completed, 1 when a run got non-2xx answers or socket errors or an
acknowledged event is missing, 2 when something could not start.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ingest import (
    WARMUP_SECONDS,
    Bench,
    CpuMeter,
    Run,
    postmaster_pid,
    server_env,
    start_gunicorn,
    stop_gunicorn,
    wait_healthy,
)
from measure import durable_postgres_settings, run_in_workdir

from webhook_server import db
from webhook_server.dev.localdb import LocalPostgres, free_port
from webhook_server.migrations import migrate

INSTANCES = 3
# A generous bound on one instance's rate, for how many deliveries to sign per run.
RATE_BOUND = 3000
SAMPLE_SECONDS = 0.01
# What a backend of an instance is doing, as pg_stat_activity says ("CPU" when it waits on nothing).
SAMPLE_ACTIVITY = """
SELECT coalesce(wait_event_type || ': ' || wait_event, 'CPU')
FROM pg_stat_activity
WHERE application_name = 'webhook-server' AND state = 'active' AND pid <> pg_backend_pid()
"""
# The NOTIFY lock, and the waits of a commit's WAL flush (Postgres 17 renamed WALSync WalSync:
# compared without case).
NOTIFY_LOCK = "lock: object"
WAL_WAITS = ("io: walsync", "io: walwrite", "lwlock: walwrite")


class WaitSampler:
    """A thread that counts what the instances' busy backends wait on, until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.waits: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wait-sampler", daemon=True)

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def share(self, *events: str) -> float:
        waiting = sum(count for event, count in self.waits.items() if event.lower() in events)
        return waiting / max(1, sum(self.waits.values()))

    def _run(self) -> None:
        with db.connect(self.url) as conn:
            while not self._stop.wait(SAMPLE_SECONDS):
                self.waits.update(event for (event,) in conn.execute(SAMPLE_ACTIVITY))


@dataclass(frozen=True)
class FleetRun:
    notify: bool
    runs: list[Run]
    cpu: dict[str, float]
    waits: WaitSampler

    @property
    def seconds(self) -> float:
        return max(run.seconds for run in self.runs)

    @property
    def rps(self) -> float:
        return sum(run.rps for run in self.runs)


class Fleet:
    """Three instances' benches, loaded at the same time."""

    def __init__(self, benches: list[Bench], meter: CpuMeter) -> None:
        self.benches = benches
        self.meter = meter

    def load(self, seconds: int) -> tuple[list[Run], dict[str, float]]:
        prefixes = [bench.prepare(seconds, RATE_BOUND) for bench in self.benches]
        before = self.meter.snapshot()
        with ThreadPoolExecutor(len(self.benches)) as pool:
            runs = list(pool.map(lambda bench, prefix: bench.post(prefix, seconds), self.benches, prefixes))
        return runs, CpuMeter.delta(before, self.meter.snapshot())


def set_trigger(url: str, *, enabled: bool) -> None:
    with db.connect(url) as conn:
        conn.execute(f"ALTER TABLE webhook_events {'ENABLE' if enabled else 'DISABLE'} TRIGGER webhook_events_notify")


def benchmark(args: argparse.Namespace, workdir: Path) -> int:
    with LocalPostgres(workdir / "data") as postgres:
        url = postgres.url()
        migrate(url)
        pg = durable_postgres_settings(url)
        secret = f"whsec_bench_{secrets.token_hex(16)}"
        servers, ports, benches, roots = [], [], [], {}
        try:
            for number in range(INSTANCES):
                port = free_port()
                ports.append(port)
                env = server_env(args, url, port, secret)
                (workdir / f"instance-{number}").mkdir()
                log_path = workdir / f"instance-{number}" / "gunicorn.log"
                servers.append(start_gunicorn(env, log_path))
                wait_healthy(servers[-1], f"http://127.0.0.1:{port}/health", log_path)
                roots[f"gunicorn-{number}"] = servers[-1].pid
            roots["postgres"] = postmaster_pid(postgres)
            meter = CpuMeter(roots)
            for number, port in enumerate(ports):
                base_url = f"http://127.0.0.1:{port}"
                benches.append(
                    Bench(workdir / f"instance-{number}", base_url, args.connections, secret, meter, f"evt_i{number}_")
                )
            fleet = Fleet(benches, meter)
            say(f"warm-up: {WARMUP_SECONDS} s")
            fleet.load(WARMUP_SECONDS)
            results = []
            for round_number in range(args.rounds):
                for notify in (True, False):
                    set_trigger(url, enabled=notify)
                    say(f"round {round_number + 1}: NOTIFY trigger {'on' if notify else 'off'}, {args.duration} s")
                    with WaitSampler(url) as waits:
                        runs, cpu = fleet.load(args.duration)
                    results.append(FleetRun(notify, runs, cpu, waits))
            set_trigger(url, enabled=True)
        finally:
            for server in servers:
                stop_gunicorn(server)
        with db.connect(url) as conn:
            stored = conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0]
    print(
        f"fleet benchmark: {INSTANCES} instances (each {args.workers or 'default'} workers x "
        f"{args.threads or 'default'} threads), one durable Postgres {pg['server_version']}, "
        f"{INSTANCES} x wrk -c{args.connections}, {args.duration} s a run, {len(results)} runs alternated"
    )
    print(
        "| NOTIFY trigger | fleet req/s | per instance | worst p50 ms | worst p99 ms | Postgres CPU µs/req "
        "| busy backends on the NOTIFY lock | on the WAL flush | other load |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for result in results:
        requests = sum(run.requests for run in result.runs)
        print(
            f"| {'on' if result.notify else 'off'} | {result.rps:,.0f} | "
            f"{' / '.join(f'{run.rps:,.0f}' for run in result.runs)} | "
            f"{max(run.p50_ms for run in result.runs):.1f} | {max(run.p99_ms for run in result.runs):.1f} | "
            f"{result.cpu['postgres'] / requests * 1e6:.0f} | {result.waits.share(NOTIFY_LOCK):.0%} | "
            f"{result.waits.share(*WAL_WAITS):.0%} | {result.cpu['other'] / result.seconds:.2f} |"
        )
    print("waits of the busy backends, all runs:")
    for result in results:
        common = ", ".join(
            f"{event} {count / sum(result.waits.waits.values()):.0%}"
            for event, count in result.waits.waits.most_common(5)
        )
        print(f"  trigger {'on' if result.notify else 'off'}: {common}")
    every_run = [run for bench in benches for run in bench.post_runs]
    acknowledged = sum(run.ok - run.duplicates for run in every_run)
    in_flight = sum(run.sent - run.answered for run in every_run)
    print(f"stored rows: {stored:,} of {acknowledged:,} acknowledged (+{in_flight:,} unanswered when wrk stopped)")
    failed = any(run.failed for run in every_run) or stored < acknowledged
    if failed:
        print("FAILED: non-2xx answers, socket errors, duplicates or acknowledged events missing")
    return 1 if failed else 0


def say(message: str) -> None:
    print(f"[fleet] {message}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per run (default 15)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections per instance (default 16)")
    parser.add_argument("--rounds", type=int, default=2, help="pairs of runs, trigger on then off (default 2)")
    parser.add_argument("--workers", type=int, help="WEBHOOK_WORKERS per instance (default: the shipped config's)")
    parser.add_argument("--threads", type=int, help="WEBHOOK_THREADS per instance (default: the shipped config's)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    return run_in_workdir("fleet", lambda workdir: benchmark(args, workdir), needs_wrk=True)


if __name__ == "__main__":
    sys.exit(main())
