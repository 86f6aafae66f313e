"""Time partitions against today's table, in one run on one durable Postgres: retention of a day
and the cost of an insert.

Two databases on the same server (fsync and synchronous_commit on): ``plain``, migrated with the
baseline's migrations (the commit given by ``--baseline``, read with ``git show``: today's single
table), and ``partitioned``, migrated with this checkout's (daily partitions and the key table).
Both get the same ``--days`` days of ``--rows-per-day`` done events with a realistic Stripe
payload (the keys too, for the partitioned one), then a CHECKPOINT.

Retention: the oldest day goes, ``--churn`` times (each time a new day arrives first, as in
production): in ``plain`` by the baseline's own prune (its prune_events.sql in batches of 1,000,
one transaction each), in ``partitioned`` by this checkout's ``prune`` (DETACH PARTITION
CONCURRENTLY, the day's keys deleted, DROP). For each: seconds, rows/s, WAL written, and the
size of the tables and their indexes after the churn (a DELETE leaves its space to be reused;
a DROP gives it back).

Insert: ``--insert-rounds`` alternated runs of ``--insert-events`` events, 16 a statement (the
inbox's group commit under load), into each database with its own insert_events.sql; µs of
wall time and of the Postgres backend's CPU per event.

    .venv/bin/python bench/partitions.py [--days 7] [--rows-per-day 200000] [--churn 3]

Exit status: 0 when the runs completed, 1 when a result failed its check, 2 when something
could not start.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from measure import BenchError, durable_postgres_settings, run_in_workdir

from webhook_server import db, sql
from webhook_server.dev import samples
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.migrations import migrate
from webhook_server.retention.prune import prune

REPO = Path(__file__).resolve().parent.parent
# The commit before the partitions (issue 25): today's single table and its batched DELETE.
BASELINE = "d2b09158c37eae0c015136d9e4d365b189ced3c9"
BATCH = 16
FILL_CHUNK = 50_000
DELETE_BATCH = 1000
# The fill: one day's done events, received across the day; the key table too where there is one.
FILL_EVENTS = """
INSERT INTO webhook_events (provider, event_id, event_type, body, payload, received_at, status, attempts,
                            processed_at)
SELECT 'stripe', 'evt_' || %(day)s || '_' || n, 'payment_intent.succeeded', convert_to(%(payload)s, 'UTF8'),
       %(payload)s::jsonb, %(start)s::timestamptz + n * %(step)s::interval, 'done', 1,
       %(start)s::timestamptz + n * %(step)s::interval
FROM generate_series(%(first)s::int, %(last)s::int) AS n
"""
FILL_KEYS = """
INSERT INTO webhook_event_keys (provider, event_id)
SELECT 'stripe', 'evt_' || %(day)s || '_' || n FROM generate_series(%(first)s::int, %(last)s::int) AS n
"""
SIZE = """
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
FROM pg_class AS c
WHERE c.relkind = 'r' AND c.relname LIKE 'webhook_event%%'
"""


@dataclass(frozen=True)
class Retention:
    layout: str
    rows: int
    seconds: float
    wal_bytes: int


def baseline_file(ref: str, path: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), "show", f"{ref}:{path}"], check=True, capture_output=True, text=True
    ).stdout


def baseline_migrations(ref: str) -> list[sql.Migration]:
    listing = subprocess.run(
        ["git", "-C", str(REPO), "ls-tree", "--name-only", f"{ref}:webhook_server/sql/migrations/"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    found = [sql.parse_migration(name, baseline_file(ref, f"webhook_server/sql/migrations/{name}")) for name in listing]
    return sorted((m for m in found if m), key=lambda m: m.version)


def new_database(admin: psycopg.Connection, url: str, name: str) -> str:
    admin.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + f"/{name}"


def fill(url: str, days: list[date], rows: int, *, keys: bool) -> None:
    payload = json.dumps(samples.stripe_event())
    step = timedelta(seconds=86_400 / (rows + 1))
    with db.connect(url, timeout=3600) as conn:
        if keys:
            conn.execute("SELECT webhook_ensure_partitions(%s, %s)", (days[0], days[-1]))
        for day in days:
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            for first in range(1, rows + 1, FILL_CHUNK):
                params = {
                    "day": day.strftime("%Y%m%d"),
                    "payload": payload,
                    "start": start,
                    "step": step,
                    "first": first,
                    "last": min(rows, first + FILL_CHUNK - 1),
                }
                conn.execute(FILL_EVENTS, params)
                if keys:
                    conn.execute(FILL_KEYS, params)
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def wal_position(conn: psycopg.Connection) -> str:
    return str(db.only_row(conn.execute("SELECT pg_current_wal_insert_lsn()"))[0])


def wal_since(conn: psycopg.Connection, start: str) -> int:
    return int(db.only_row(conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", (start,)))[0])


def delete_day(url: str, before: datetime, prune_sql: str) -> Retention:
    """The baseline's retention: its own prune_events.sql, a batch per transaction."""
    with db.connect(url, timeout=3600) as conn:
        conn.execute("CHECKPOINT")
        start, started, rows = wal_position(conn), time.monotonic(), 0
        params = {"statuses": ["done", "skipped"], "before": before, "batch": DELETE_BATCH}
        while True:
            batch = conn.execute(prune_sql, params).rowcount
            rows += batch
            if batch < DELETE_BATCH:
                break
        return Retention("plain: batched DELETE", rows, time.monotonic() - started, wal_since(conn, start))


def drop_day(url: str, before: datetime) -> Retention:
    with db.connect(url, timeout=3600) as conn:
        conn.execute("CHECKPOINT")
        start, started = wal_position(conn), time.monotonic()
        rows = prune(conn, before=before)
        return Retention("partitioned: DETACH + DROP", rows, time.monotonic() - started, wal_since(conn, start))


def table_bytes(url: str) -> int:
    with db.connect(url, timeout=60) as conn:
        return int(db.only_row(conn.execute(SIZE))[0])


def backend_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def insert_run(url: str, statement: str, events: int, prefix: str) -> tuple[float, float]:
    """(wall µs, backend CPU µs) per event for ``events`` new events, BATCH a statement."""
    payload = json.dumps(samples.stripe_event())
    with db.connect(url, timeout=60) as conn:
        pid = conn.info.backend_pid
        cpu, started = backend_cpu_seconds(pid), time.perf_counter()
        for n in range(0, events, BATCH):
            ids = [f"{prefix}_{n + i}" for i in range(BATCH)]
            params = {
                "schemes": ["stripe"] * BATCH,
                "endpoints": [None] * BATCH,
                "event_ids": ids,
                "event_types": ["payment_intent.succeeded"] * BATCH,
                "payloads": [payload] * BATCH,
                "headers": ["{}"] * BATCH,
                "as_jsonb": True,
            }
            if len(conn.execute(statement, params).fetchall()) != BATCH:
                raise BenchError(f"an insert into {url} stored fewer than {BATCH} new events")
        wall = time.perf_counter() - started
        return wall / events * 1e6, (backend_cpu_seconds(pid) - cpu) / events * 1e6


def benchmark(args: argparse.Namespace, workdir: Path) -> int:
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=args.days + args.churn - i) for i in range(args.days)]
    with LocalPostgres(workdir / "data") as postgres, psycopg.connect(postgres.url(), autocommit=True) as admin:
        pg = durable_postgres_settings(postgres.url())
        plain = new_database(admin, postgres.url(), "plain")
        partitioned = new_database(admin, postgres.url(), "partitioned")
        migrate(plain, shipped=baseline_migrations(args.baseline))
        migrate(partitioned)
        say(f"filling {args.days} days of {args.rows_per_day:,} events in each database")
        fill(plain, days, args.rows_per_day, keys=False)
        fill(partitioned, days, args.rows_per_day, keys=True)
        prune_sql = baseline_file(args.baseline, "webhook_server/sql/queries/prune_events.sql")
        retention: list[Retention] = []
        for churn in range(args.churn):
            arriving = [days[-1] + timedelta(days=churn + 1)]
            fill(plain, arriving, args.rows_per_day, keys=False)
            fill(partitioned, arriving, args.rows_per_day, keys=True)
            oldest_end = datetime.combine(days[churn] + timedelta(days=1), datetime.min.time(), UTC)
            say(f"retention of {days[churn]} ({churn + 1}/{args.churn})")
            retention.append(delete_day(plain, oldest_end, prune_sql))
            retention.append(drop_day(partitioned, oldest_end))
        sizes = {"plain": table_bytes(plain), "partitioned": table_bytes(partitioned)}
        insert_sql = {
            "plain": baseline_file(args.baseline, "webhook_server/sql/queries/insert_events.sql"),
            "partitioned": sql.query("insert_events"),
        }
        inserts: dict[str, list[tuple[float, float]]] = {"plain": [], "partitioned": []}
        for round_ in range(args.insert_rounds):
            for layout, url in (("plain", plain), ("partitioned", partitioned)):
                inserts[layout].append(insert_run(url, insert_sql[layout], args.insert_events, f"ins{round_}"))
    print_tables(args, pg, retention, sizes, inserts)
    return 0


def print_tables(
    args: argparse.Namespace,
    pg: dict[str, str],
    retention: list[Retention],
    sizes: dict[str, int],
    inserts: dict[str, list[tuple[float, float]]],
) -> None:
    print(
        f"partitions benchmark: durable Postgres {pg['server_version']}, {args.days} days of "
        f"{args.rows_per_day:,} done events (~1.7 kB each), baseline {args.baseline}"
    )
    print("| retention of one day | rows | seconds | rows/s | WAL MB |")
    print("|---|---|---|---|---|")
    for run in retention:
        rate = run.rows / run.seconds if run.seconds else 0
        print(f"| {run.layout} | {run.rows:,} | {run.seconds:.2f} | {rate:,.0f} | {run.wal_bytes / 1e6:.1f} |")
    print(f"\n| tables + indexes after {args.churn} days of churn | MB |")
    print("|---|---|")
    for layout, size in sizes.items():
        print(f"| {layout} | {size / 1e6:.0f} |")
    print(
        f"\n| insert, {BATCH} events a statement, {args.insert_events:,} a run "
        "| wall us/event (runs) | Postgres CPU us/event (runs) |"
    )
    print("|---|---|---|")
    for layout, runs in inserts.items():
        walls = ", ".join(f"{wall:.0f}" for wall, _ in runs)
        cpus = ", ".join(f"{cpu:.0f}" for _, cpu in runs)
        median_cpu = statistics.median(cpu for _, cpu in runs)
        print(f"| {layout} | {walls} | {cpus} (median {median_cpu:.0f}) |")


def say(message: str) -> None:
    print(f"[partitions] {message}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=7, help="days of events stored before the churn")
    parser.add_argument("--rows-per-day", type=int, default=200_000)
    parser.add_argument("--churn", type=int, default=3, help="days retired (a new day arrives before each)")
    parser.add_argument("--insert-events", type=int, default=16_000, help="events per insert run")
    parser.add_argument("--insert-rounds", type=int, default=3)
    parser.add_argument(
        "--baseline",
        default=BASELINE,
        help="the commit whose single table is the baseline (default: the one partitions were added to)",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    return run_in_workdir("partitions", lambda workdir: benchmark(args, workdir))


if __name__ == "__main__":
    sys.exit(main())
