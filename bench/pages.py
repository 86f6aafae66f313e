"""Dashboard benchmark: how long its pages take on a large inbox (default 1,000,000 events).

A durable Postgres of its own (fsync and synchronous_commit on) is filled in one pass with
``--events`` events over the last 30 days (3 schemes, 9 types, one of them rare; 1 % failed,
0.5 % dead, 0.5 % pending, the rest done) and an attempt history (one attempt each, three for
the dead). Then a real ``webhook-server dashboard`` (gunicorn, its shipped configuration) is
signed in to, and each page is fetched ``--requests`` times in turn by one client: the time is
from request to the last byte, so it includes the queries, the template and HTTP on loopback.

The plans of the event list's queries are printed first (EXPLAIN ANALYZE), with a warning for
any that reads the whole table (right on a small table, a problem on a large one).

    .venv/bin/python bench/pages.py [--events 1000000] [--requests 40]

Exit status: 0 when every page answered 200 (whatever the times), 1 when one did not, 2 when
something could not start.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from measure import BenchError, durable_postgres_settings, machine_busy_seconds, run_in_workdir, tail

from tests.harness.dashboard import DashboardServer
from webhook_server import db, sql
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.migrations import migrate

RARE_TYPE = "charge.dispute.created"
FILL_CHUNK = 100_000

FILL_EVENTS = """
INSERT INTO webhook_events (provider, event_id, event_type, payload, received_at, status, attempts,
                            next_attempt_at, last_error, processed_at)
SELECT provider, event_id, event_type,
       jsonb_build_object('id', event_id, 'type', event_type, 'created', 1700000000 + i,
                          'data', jsonb_build_object('object', jsonb_build_object(
                              'id', 'in_' || md5(i::text), 'amount_paid', mod(i, 100000), 'currency', 'eur',
                              'customer', 'cus_' || left(md5(mod(i, 5000)::text), 14)))),
       received_at, status,
       CASE status WHEN 'dead' THEN 3 WHEN 'pending' THEN 0 ELSE 1 END,
       received_at,
       CASE WHEN status IN ('failed', 'dead') THEN 'RuntimeError: the handler failed on ' || event_id
           || E'\\nTraceback (most recent call last):\\n  File "handlers.py", line 12, in handle' END,
       CASE WHEN status IN ('done', 'dead') THEN received_at + interval '40 ms' END
FROM (
    SELECT i,
           (ARRAY['stripe', 'github', 'shopify'])[1 + mod(i, 3)] AS provider,
           'evt_' || lpad(i::text, 8, '0') AS event_id,
           CASE WHEN mod(i, 1000) = 7 THEN %(rare)s
                ELSE (ARRAY['invoice.paid', 'invoice.payment_failed', 'customer.created', 'push', 'pull_request',
                            'orders/create', 'orders/paid', 'refunds/create'])[1 + mod(i, 8)] END AS event_type,
           now() - (%(events)s - i) * (interval '30 days' / %(events)s) AS received_at,
           CASE WHEN mod(i, 200) = 1 THEN 'dead' WHEN mod(i, 100) = 2 THEN 'failed' WHEN mod(i, 200) = 3 THEN 'pending'
                ELSE 'done' END AS status
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i
) AS generated
"""

FILL_HISTORY = """
INSERT INTO webhook_event_attempts (event_row, event_received_at, attempt, worker, started_at, finished_at, outcome,
                                    error)
SELECT e.id, e.received_at, attempt, 'bench-host:4242', e.received_at + attempt * interval '1 minute',
       e.received_at + attempt * interval '1 minute' + interval '35 ms',
       CASE WHEN e.status = 'done' THEN 'done' ELSE 'failed' END, e.last_error
FROM webhook_events AS e, generate_series(1, greatest(e.attempts, 1)) AS attempt
WHERE e.status <> 'pending'
"""


def fill(url: str, events: int) -> None:
    with db.connect(url, timeout=3600) as conn:
        conn.execute("SELECT webhook_ensure_partitions(current_date - 31, current_date)")  # the days back-dated into
        for first in range(1, events + 1, FILL_CHUNK):
            last = min(events, first + FILL_CHUNK - 1)
            conn.execute(FILL_EVENTS, {"rare": RARE_TYPE, "events": events, "first": first, "last": last})
            say(f"stored {last:,} events")
        conn.execute(FILL_HISTORY)
        conn.execute("VACUUM ANALYZE webhook_events")
        conn.execute("VACUUM ANALYZE webhook_event_attempts")


def pages(url: str, events: int) -> dict[str, str]:
    """The pages to time, by label; ids picked from the middle of the table."""
    with db.connect(url) as conn:
        (middle,) = conn.execute(
            "SELECT id FROM webhook_events WHERE status = 'dead' ORDER BY id LIMIT 1 OFFSET %s", (events // 400,)
        ).fetchone()
        (deep,) = conn.execute(
            "SELECT id FROM webhook_events ORDER BY id DESC LIMIT 1 OFFSET %s", (events // 2,)
        ).fetchone()
    return {
        "/": "/",
        "/events": "/events",
        "/events, page halfway down": f"/events?before={deep}",
        "/events?status=dead": "/events?status=dead",
        "/events?scheme=github&type=push": "/events?scheme=github&type=push",
        f"/events?type={RARE_TYPE} (0.1 %)": f"/events?type={RARE_TYPE}",
        "/events?since=2d&until=1d": "/events?since=2d&until=1d",
        "/events?event_id=…": f"/events?event_id=evt_{events // 3:08d}",
        "/events/<id> (dead, 3 attempts)": f"/events/{middle}",
        "/replay?status=dead (count)": "/replay?status=dead",
    }


def explain(url: str, events: int) -> None:
    """The list query's plan for a few filter sets: what it reads and how long it took."""
    cases = {
        "no filter": {},
        "status=dead": {"status": "dead"},
        f"type={RARE_TYPE}": {"event_type": RARE_TYPE},
        "event_id": {"event_id": f"evt_{events // 3:08d}"},
    }
    empty = {"status": None, "scheme": None, "event_type": None, "since": None, "until": None, "event_id": None}
    with db.connect(url) as conn:
        for label, given in cases.items():
            params = {**empty, **given, "limit": 51, "before": None}
            plan = [line for (line,) in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql.query("list_events"), params)]
            scans = sorted({line.strip().split(" on ")[0].lstrip("-> ") for line in plan if " on " in line})
            say(f"plan, list with {label}: {'; '.join(scans)}; {plan[-1].strip()}")
            if any(scan.startswith("Seq Scan") for scan in scans):
                say(f"WARNING: the event list with {label} reads the whole table")


def measure(server: DashboardServer, targets: dict[str, str], requests_each: int) -> dict[str, list[float]]:
    session = server.sign_in()
    timings: dict[str, list[float]] = {label: [] for label in targets}
    for path in targets.values():  # one untimed fetch each: the pool's connections, the templates
        session.get(server.url(path), timeout=120)
    for _ in range(requests_each):
        for label, path in targets.items():
            started = time.perf_counter()
            answer = session.get(server.url(path), timeout=120)
            elapsed = (time.perf_counter() - started) * 1000
            if answer.status_code != 200:
                raise BenchError(f"{path} answered {answer.status_code}:\n{answer.text[:500]}")
            timings[label].append(elapsed)
    return timings


def benchmark(args: argparse.Namespace, workdir: Path) -> int:
    with LocalPostgres(workdir / "data") as postgres:
        url = postgres.url()
        migrate(url)
        pg = durable_postgres_settings(url)
        started = time.monotonic()
        fill(url, args.events)
        say(f"filled in {time.monotonic() - started:.0f} s")
        explain(url, args.events)
        targets = pages(url, args.events)
        server = DashboardServer(url, workdir / "dashboard.log")
        try:
            server.wait_until_ready()
            busy_before, wall_before = machine_busy_seconds(), time.monotonic()
            timings = measure(server, targets, args.requests)
            load = (machine_busy_seconds() - busy_before) / (time.monotonic() - wall_before)
        except BenchError:
            say(tail(workdir / "dashboard.log"))
            raise
        finally:
            server.kill()
    print(
        f"dashboard pages on {args.events:,} events ({args.requests} fetches each, one client, in turn; "
        f"durable Postgres {pg['server_version']}; {os.cpu_count()} cores; machine busy {load:.2f} cores meanwhile)"
    )
    print(f"| {'page':<45} | {'p50 ms':>8} | {'p95 ms':>8} | {'max ms':>8} |")
    for label, times in timings.items():
        times.sort()
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"| {label:<45} | {statistics.median(times):>8.1f} | {p95:>8.1f} | {times[-1]:>8.1f} |")
    return 0


def say(message: str) -> None:
    print(f"[pages] {message}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events stored (default 1,000,000)")
    parser.add_argument("--requests", type=int, default=40, help="timed fetches of each page (default 40)")
    args = parser.parse_args()
    return run_in_workdir("pages", lambda workdir: benchmark(args, workdir))


if __name__ == "__main__":
    sys.exit(main())
