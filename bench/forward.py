"""Forwarding benchmark: how fast stored events reach a local destination, against the obvious forwarder.

A durable Postgres (fsync and synchronous_commit on), a keep-alive destination in its own process
(bench/forward_destination.py: answers 204 and notes each arrival), and:

(a) throughput of ``webhook-server forward`` with the shipped destination settings (8 at once):
    ``--events`` realistic Stripe payloads stored in one transaction; rate = events / (last
    arrival - the commit). Every event must arrive exactly once, each delivery ``delivered`` with
    one attempt.
(b) the same events through the obvious forwarder, in this script: read the stored events, and
    for each one sign it and ``requests.post`` it (a new connection each), then mark it sent with
    one UPDATE. Rate measured the same way.
(c) latency at ``--rate`` events/s for ``--seconds``: events stored one per transaction with the
    ingest's own statement, open loop; latency = arrival at the destination - the commit (when
    the server would answer 200).
(d) what the fan-out queue costs ingest: batches of 16 events stored with the ingest's statement,
    no destination registered (the trigger finds none: one EXISTS) against one registered (a
    queue row per event), runs alternated; Postgres' CPU and the client's time per statement.

CPU per forwarded event (the forwarder's process, from /proc) and the load of other processes are
reported. The issue's targets: at least 5 x the obvious forwarder's throughput; p99 under 50 ms at
500 events/s.

    .venv/bin/python bench/forward.py [--events 5000] [--rate 500] [--seconds 10]

Exit status: 0 when the runs completed (targets met or not), 1 when an event was lost or sent
twice, 2 when something could not start.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
import standardwebhooks
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
SCRIPT = Path(sys.executable).parent / "webhook-server"
SECRET = "whsec_" + base64.b64encode(b"bench-forward-secret-0123456789ab").decode()
READY_SECONDS = 30
STOP_SECONDS = 15
OTHER_LOAD_WARNING = 0.1


@dataclass(frozen=True)
class Run:
    label: str
    events: int
    seconds: float
    cpu_us: float
    other_load: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds


class Destination:
    """The destination process; ``arrivals()`` stops it and returns webhook-id → arrival times."""

    def __init__(self, workdir: Path, name: str) -> None:
        self.port_file, self.arrivals_file = workdir / f"{name}.port", workdir / f"{name}.arrivals"
        self.log = workdir / f"{name}.log"
        self.process = start_logged(
            [sys.executable, str(BENCH_DIR / "forward_destination.py"), str(self.port_file), str(self.arrivals_file)],
            self.log,
        )
        deadline = time.monotonic() + READY_SECONDS
        while not self.port_file.exists() or not self.port_file.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"the destination did not start:\n{tail(self.log)}")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port_file.read_text()}/webhooks"

    def arrivals(self) -> dict[str, list[float]]:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(STOP_SECONDS)
        found: dict[str, list[float]] = {}
        for line in self.arrivals_file.read_text().splitlines():
            ident, at = line.split()
            found.setdefault(ident, []).append(float(at))
        return found


class Forwarder:
    def __init__(self, database_url: str, destination_url: str, workdir: Path) -> None:
        config = workdir / "destinations.toml"
        config.write_text(f'[destinations.bench]\nurl = "{destination_url}"\nsecret_env = "BENCH_FORWARD_SECRET"\n')
        self.log = workdir / f"forward-{time.monotonic_ns()}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "WEBHOOK_DESTINATIONS_FILE": str(config),
            "BENCH_FORWARD_SECRET": SECRET,
            "WEBHOOK_LOG_LEVEL": "warning",
        }
        self.process = start_logged([str(SCRIPT), "forward"], self.log, env=env)

    def wait_registered(self, url: str) -> None:
        deadline = time.monotonic() + READY_SECONDS
        with db.connect(url) as conn:
            while not conn.execute("SELECT EXISTS (SELECT FROM webhook_destinations)").fetchone()[0]:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"the forwarder did not start:\n{tail(self.log)}")
                time.sleep(0.05)
        time.sleep(0.5)  # its listener too

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds([self.process.pid])

    def stop(self) -> None:
        self.process.terminate()
        if self.process.wait(STOP_SECONDS) != 0:
            raise BenchError(f"the forwarder exited with {self.process.returncode}:\n{tail(self.log)}")


def _reset(url: str) -> None:
    with db.connect(url) as conn:
        conn.execute("TRUNCATE webhook_events")
        conn.execute("TRUNCATE webhook_destinations")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_sent (id bigint PRIMARY KEY)")
        conn.execute("TRUNCATE bench_sent")


def _store_batch(url: str, count: int) -> float:
    payload = json.dumps(samples.stripe_event("payment_intent.succeeded"))
    with db.connect(url, timeout=120) as conn:
        conn.execute(
            "INSERT INTO webhook_events (provider, event_id, event_type, body, payload) "
            "SELECT 'stripe', 'evt_' || n, 'payment_intent.succeeded', convert_to(%s, 'UTF8'), %s::jsonb "
            "FROM generate_series(1, %s) AS n",
            (payload, payload, count),
        )
        return time.time()


def _check_once(arrivals: dict[str, list[float]], count: int, label: str) -> float:
    if len(arrivals) != count or any(len(times) != 1 for times in arrivals.values()):
        twice = sum(1 for times in arrivals.values() if len(times) > 1)
        raise BenchError(f"{label}: {len(arrivals)} of {count} events arrived, {twice} more than once")
    return max(times[0] for times in arrivals.values())


def forwarder_throughput(url: str, events: int, workdir: Path) -> Run:
    _reset(url)
    destination = Destination(workdir, "throughput")
    forwarder = Forwarder(url, destination.url, workdir)
    try:
        forwarder.wait_registered(url)
        cpu_before, machine_before, started = forwarder.cpu_seconds(), machine_busy_seconds(), time.monotonic()
        committed = _store_batch(url, events)
        deadline = time.monotonic() + max(60.0, events / 100)
        with db.connect(url) as conn:
            while (
                conn.execute("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'").fetchone()[0]
                < events
            ):
                if time.monotonic() > deadline:
                    raise BenchError(f"the forwarder did not deliver {events:,} events in time:\n{tail(forwarder.log)}")
                time.sleep(0.05)
            attempts = conn.execute(
                "SELECT status, attempts, count(*) FROM webhook_deliveries GROUP BY 1, 2"
            ).fetchall()
        cpu = forwarder.cpu_seconds() - cpu_before
        other = max(0.0, machine_busy_seconds() - machine_before - cpu) / (time.monotonic() - started)
    finally:
        forwarder.stop()
    last = _check_once(destination.arrivals(), events, "forwarder")
    if attempts != [("delivered", 1, events)]:
        raise BenchError(f"every delivery should be delivered at its first attempt: {attempts}")
    return Run("webhook-server forward (8 at once, keep-alive)", events, last - committed, cpu / events * 1e6, other)


def obvious_throughput(url: str, events: int, workdir: Path) -> Run:
    """One requests.post per event in a loop, each signed, each marked sent by its own UPDATE."""
    _reset(url)
    destination = Destination(workdir, "obvious")
    signer = standardwebhooks.Webhook(SECRET)
    own_before, machine_before, started = os.times(), machine_busy_seconds(), time.monotonic()
    committed = _store_batch(url, events)
    with db.connect(url) as conn:
        rows = conn.execute("SELECT id, provider, event_id, body FROM webhook_events ORDER BY id").fetchall()
        for row_id, provider, event_id, body in rows:
            ident, now = f"{provider}_{event_id}", datetime.now(UTC)
            headers = {
                "content-type": "application/json",
                "webhook-id": ident,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": signer.sign(ident, now, bytes(body)),
            }
            requests.post(destination.url, data=bytes(body), headers=headers, timeout=30).raise_for_status()
            conn.execute("INSERT INTO bench_sent (id) VALUES (%s)", (row_id,))
    after = os.times()
    cpu = (after.user + after.system) - (own_before.user + own_before.system)
    other = max(0.0, machine_busy_seconds() - machine_before - cpu) / (time.monotonic() - started)
    last = _check_once(destination.arrivals(), events, "obvious forwarder")
    return Run("obvious: requests.post per event, in a loop", events, last - committed, cpu / events * 1e6, other)


def latency(url: str, rate: float, seconds: float, workdir: Path) -> Latency:
    _reset(url)
    destination = Destination(workdir, "latency")
    forwarder = Forwarder(url, destination.url, workdir)
    count = int(rate * seconds)
    committed: dict[str, float] = {}
    try:
        forwarder.wait_registered(url)
        machine_before, cpu_before, started = machine_busy_seconds(), forwarder.cpu_seconds(), time.monotonic()
        own_before = os.times()
        with db.connect(url) as conn:
            for number in range(count):
                time.sleep(max(0.0, started + number / rate - time.monotonic()))
                event = samples.stripe_event("latency", event_id=f"evt_latency{number:07d}")
                insert_events(conn, [IncomingEvent("stripe", event["id"], "latency", json.dumps(event))])
                committed[f"stripe_{event['id']}"] = time.time()
            deadline = time.monotonic() + 30
            while (
                conn.execute("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'").fetchone()[0] < count
            ):
                if time.monotonic() > deadline:
                    states = conn.execute("SELECT status, attempts, count(*) FROM webhook_deliveries GROUP BY 1, 2")
                    raise BenchError(
                        f"not all delivered 30 s after the last: {states.fetchall()}\n{tail(forwarder.log)}"
                    )
                time.sleep(0.05)
        elapsed = time.monotonic() - started
        own = os.times()
        busy = machine_busy_seconds() - machine_before - (forwarder.cpu_seconds() - cpu_before)
        busy -= (own.user + own.system) - (own_before.user + own_before.system)
    finally:
        forwarder.stop()
    arrivals = destination.arrivals()
    _check_once(arrivals, count, "latency")
    delays = sorted((arrivals[ident][0] - at) * 1000 for ident, at in committed.items())
    return Latency(
        count,
        count / elapsed,
        statistics.median(delays),
        delays[int(len(delays) * 0.99)],
        delays[-1],
        max(0.0, busy / elapsed),
    )


@dataclass(frozen=True)
class IngestCost:
    label: str
    statements: int
    postgres_us: float
    wall_us: float


def ingest_cost(postgres: LocalPostgres, statements: int, rounds: int) -> list[IngestCost]:
    """Ingest's insert with and without a registered destination, alternated ``rounds`` times."""
    url = postgres.url()
    postmaster = int((postgres.data_dir / "postmaster.pid").read_text().split()[0])
    totals = {False: [0.0, 0.0], True: [0.0, 0.0]}
    payload = json.dumps(samples.stripe_event("payment_intent.succeeded"))
    with db.connect(url) as conn:
        for round_number in range(rounds):
            for registered in (False, True):
                _reset(url)
                if registered:
                    conn.execute("INSERT INTO webhook_destinations (name) VALUES ('bench')")
                before_cpu, before = tree_cpu_seconds([postmaster]), time.perf_counter()
                for number in range(statements):
                    batch = [
                        IncomingEvent("stripe", f"evt_{round_number}_{number}_{n}", "payment_intent.succeeded", payload)
                        for n in range(16)
                    ]
                    insert_events(conn, batch)
                totals[registered][0] += tree_cpu_seconds([postmaster]) - before_cpu
                totals[registered][1] += time.perf_counter() - before
        (queued,) = conn.execute("SELECT count(*) FROM webhook_forward_queue").fetchone()
    if queued != statements * 16:
        raise BenchError(f"{queued} events queued for fan-out, expected {statements * 16}")
    count = statements * rounds
    return [
        IngestCost(
            "a destination registered" if registered else "no destination",
            count,
            cpu / count * 1e6,
            wall / count * 1e6,
        )
        for registered, (cpu, wall) in totals.items()
    ]


def benchmark(args: argparse.Namespace, workdir: Path) -> int:
    with LocalPostgres(workdir / "data") as postgres:
        url = postgres.url()
        migrate(url)
        pg = durable_postgres_settings(url)
        say(f"obvious forwarder: {args.events:,} events")
        obvious = obvious_throughput(url, args.events, workdir)
        say(f"webhook-server forward: {args.events:,} events")
        ours = forwarder_throughput(url, args.events, workdir)
        say(f"latency: {args.rate:g} events/s for {args.seconds:g} s")
        low = latency(url, args.rate, args.seconds, workdir)
        say("ingest with and without the fan-out queue")
        costs = ingest_cost(postgres, 1000, 3)
    print(
        f"forwarding benchmark (durable Postgres {pg['server_version']}, a local keep-alive destination in its own "
        f"process, {os.cpu_count()} cores shared by all)"
    )
    print(f"| {'run':<50} | {'events/s':>8} | {'CPU us/event':>12} | {'other load':>10} |")
    for run in (obvious, ours):
        print(f"| {run.label:<50} | {run.rate:>8,.0f} | {run.cpu_us:>12.0f} | {run.other_load:>10.2f} |")
    print()
    print(f"| {'commit → destination':<50} | {'p50 ms':>8} | {'p99 ms':>8} | {'max ms':>8} | {'other load':>10} |")
    label = f"{low.events} events at {low.rate:.0f}/s, one per transaction"
    print(f"| {label:<50} | {low.p50_ms:>8.2f} | {low.p99_ms:>8.2f} | {low.max_ms:>8.2f} | {low.other_load:>10.2f} |")
    print(
        f"targets: >= 5 x the obvious forwarder ({ours.rate / obvious.rate:.1f} x); "
        f"p99 under 50 ms at 500/s ({low.p99_ms:.1f} ms at {low.rate:.0f}/s)"
    )
    print()
    print(
        f"| {'ingest, 16 events a statement':<40} | {'statements':>10} | {'Postgres CPU us':>15} | {'client us':>9} |"
    )
    for cost in costs:
        print(f"| {cost.label:<40} | {cost.statements:>10,} | {cost.postgres_us:>15.0f} | {cost.wall_us:>9.0f} |")
    if max(obvious.other_load, ours.other_load, low.other_load) > OTHER_LOAD_WARNING:
        print("WARNING: other processes kept this machine's cores busy during a run: the numbers are disturbed")
    return 0


def say(message: str) -> None:
    print(f"[forward] {message}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5_000, help="events per throughput run (default 5,000)")
    parser.add_argument("--rate", type=float, default=500, help="events/s in the latency run (default 500)")
    parser.add_argument("--seconds", type=float, default=10, help="length of the latency run (default 10)")
    args = parser.parse_args()
    return run_in_workdir("forward", lambda workdir: benchmark(args, workdir))


if __name__ == "__main__":
    sys.exit(main())
