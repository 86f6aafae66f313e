"""Operator commands on a large table: ``stats``, ``events list`` and ``events show`` at 10 M rows.

A Postgres of its own (the embedded 18, or another version's binaries with ``--postgres-bin``,
e.g. Debian's ``/usr/lib/postgresql/15/bin``) gets ``--rows`` events made by ``generate_series``
in one million-row statement after another: three schemes, received over the last 30 days, in
proportions an inbox that works has (about 90 % done, 9 % skipped, a few thousand pending,
failed and dead), with a 300-byte payload. Then ``VACUUM ANALYZE``, as autovacuum would have
done by then. Durable settings are not needed: only reads are timed.

Each command's query function (webhook_server.operator.queries, the code the CLI runs) is
timed ``--repeat`` times; the table shows the fastest and the slowest, and the 15 s bound each
statement has.

    .venv/bin/python bench/scale.py [--rows 10000000] [--postgres-bin DIR] [--data-dir DIR]

``--data-dir`` keeps the cluster: a later run with the same directory and row count reuses it.
Exit status: 0 when every command answered within its bound, 1 when one did not, 2 when
something could not start.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from measure import BenchError

from tests.harness.postgres import NOT_DURABLE
from webhook_server.dev.localdb import BIN_DIR_VARIABLE, LocalPostgres, LocalPostgresError
from webhook_server.migrations import migrate
from webhook_server.operator import queries

CHUNK_ROWS = 1_000_000
# One event id in the middle of the table, for `events show`.
SHOWN_NUMBER = 4_321_987

GENERATE = """
INSERT INTO webhook_events (provider, event_id, event_type, payload, received_at, status, attempts,
                            next_attempt_at, processed_at, last_error)
SELECT provider, 'evt_scale_' || lpad(n::text, 10, '0'), event_type,
       jsonb_build_object('id', 'evt_scale_' || n, 'type', event_type, 'created', 1700000000 + n,
                          'data', jsonb_build_object('object', jsonb_build_object(
                              'id', 'pi_' || md5(n::text), 'amount', n %% 10000, 'currency', 'eur',
                              'customer', 'cus_' || md5((n * 7)::text), 'metadata',
                              jsonb_build_object('order_id', n)))),
       received_at, status, CASE WHEN status = 'pending' THEN 0 ELSE 1 END,
       received_at, CASE WHEN status IN ('done', 'skipped', 'dead') THEN received_at + interval '2 s' END,
       CASE WHEN status IN ('failed', 'dead') THEN 'RuntimeError: billing answered 500' END
FROM (
    SELECT n,
           (ARRAY['stripe', 'stripe', 'github', 'shopify'])[1 + n %% 4] AS scheme,
           (ARRAY['invoice.paid', 'customer.updated', 'push', 'orders/create'])[1 + n %% 4] AS event_type,
           now() - interval '30 days' * (1 - n::float8 / %(total)s) AS received_at,
           CASE WHEN n > %(total)s - 2000 THEN 'pending'
                WHEN n %% 997 = 0 THEN 'dead'
                WHEN n %% 1009 = 0 AND n > %(total)s - 200000 THEN 'failed'
                WHEN n %% 11 = 0 THEN 'skipped'
                ELSE 'done' END AS status
    FROM generate_series(%(first)s, %(last)s) AS n
) AS generated
"""


def say(message: str) -> None:
    print(f"[scale] {message}", file=sys.stderr, flush=True)


def fill(url: str, rows: int) -> None:
    """Make ``rows`` events unless the table already has them (a kept ``--data-dir``)."""
    with queries.connect(url, timeout=3600) as conn:
        have = conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0]
        if have == rows:
            say(f"reusing the {rows:,} events already stored")
            return
        conn.execute("TRUNCATE webhook_events")
        conn.execute("SELECT webhook_ensure_partitions(current_date - 31, current_date)")  # the days back-dated into
        started = time.monotonic()
        for first in range(1, rows + 1, CHUNK_ROWS):
            last = min(rows, first + CHUNK_ROWS - 1)
            conn.execute(GENERATE, {"first": first, "last": last, "total": rows})
            say(f"{last:,} of {rows:,} events stored ({time.monotonic() - started:.0f} s)")
        conn.execute("VACUUM ANALYZE webhook_events")
        say(f"vacuumed and analyzed after {time.monotonic() - started:.0f} s")


def timed(operation: Callable[[], object], repeat: int) -> list[float]:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        operation()
        seconds.append(time.perf_counter() - started)
    return seconds


def measure(url: str, rows: int, repeat: int) -> bool:
    shown = f"evt_scale_{min(rows, SHOWN_NUMBER):010d}"
    with queries.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('webhook_events'))").fetchone()[0]
        operations: dict[str, Callable[[], object]] = {
            "stats": lambda: queries.stats(conn),
            "events list": lambda: queries.list_events(conn, queries.EventFilter(), limit=50),
            "events list --status dead": lambda: queries.list_events(
                conn, queries.EventFilter(status="dead"), limit=50
            ),
            "events list --since 1h": lambda: queries.list_events(
                conn, queries.EventFilter(since=datetime.now(UTC) - timedelta(hours=1)), limit=50
            ),
            f"events show {shown}": lambda: queries.find_events(conn, shown),
            "events show 4321987 (row id)": lambda: queries.find_events(conn, "4321987"),
        }
        found = queries.stats(conn)
        say(f"Postgres {version}, {rows:,} events, table and indexes {size}")
        print(f"\nPostgres {version}, {rows:,} events ({size}), {repeat} runs each\n")
        print("| command | fastest | slowest | bound |\n|---|---|---|---|")
        within = True
        for name, operation in operations.items():
            seconds = timed(operation, repeat)
            within &= max(seconds) < queries.TIMEOUT_SECONDS
            print(f"| `{name}` | {min(seconds) * 1000:,.0f} ms | {max(seconds) * 1000:,.0f} ms | 15 s |")
    estimated = f"estimated from a {found.sample_percent:.2g}% page sample" if found.estimated else "exact"
    print(f"\nstats said: {dict(found.counts)} (done and skipped {estimated})")
    return within


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres-bin", type=Path, help="Another Postgres's binaries (default: the embedded 18).")
    parser.add_argument("--data-dir", type=Path, help="Keep the cluster here, and reuse it next time.")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)  # stop as on Ctrl-C: Postgres stopped first
    if args.postgres_bin:
        os.environ[BIN_DIR_VARIABLE] = str(args.postgres_bin)
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as workdir:
        data_dir = args.data_dir or Path(workdir) / "pgdata"
        try:
            with LocalPostgres(data_dir, settings=NOT_DURABLE) as postgres:
                migrate(postgres.url())
                fill(postgres.url(), args.rows)
                return 0 if measure(postgres.url(), args.rows, args.repeat) else 1
        except (BenchError, LocalPostgresError) as exc:
            say(f"failed: {exc}")
            return 2
        except KeyboardInterrupt:
            say("interrupted")
            return 130


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
