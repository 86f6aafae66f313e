"""Operator lookups read an index on every supported Postgres, not the whole table.

Postgres 18 can skip-scan the (scheme, event_id) unique index; 13 to 17 cannot, and without
webhook_events_event_id_idx each `events show ID` or `replay ID` read every row. scripts/test runs
this file on the embedded Postgres 18 and again on Debian's (WEBHOOK_POSTGRES_BIN).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.harness.postgres import make_day
from webhook_server import sql

ROWS = 20_000
ONE_ID = "evt_lookup_0012345"


@pytest.fixture
def many_events(clean_db: str) -> str:
    """Enough rows, received a second apart, mostly done, with fresh planner statistics, that a
    whole-table read would cost a real plan. All in one day's partition (the last ROWS seconds
    before this UTC day began), whatever the time: the other days are empty."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        make_day(conn, midnight - timedelta(seconds=ROWS))
        conn.execute(
            "INSERT INTO webhook_events (provider, event_id, event_type, payload, status, received_at, processed_at) "
            "SELECT CASE WHEN n %% 2 = 0 THEN 'stripe' ELSE 'github' END, 'evt_lookup_' || lpad(n::text, 7, '0'), "
            "'invoice.paid', jsonb_build_object('n', n), "
            "CASE WHEN n %% 100 = 0 THEN 'dead' WHEN n %% 10 = 0 THEN 'skipped' ELSE 'done' END, "
            "%s - make_interval(secs => %s - n + 1), %s - make_interval(secs => %s - n + 1) "
            "FROM generate_series(1, %s) AS n",
            (midnight, ROWS, midnight, ROWS, ROWS),
        )
        conn.execute("ANALYZE webhook_events")
    return clean_db


QUERIES = {
    "find_events": {"event_id": ONE_ID, "row_id": None, "scheme": None},
    "find_events by row id too": {"event_id": "12345", "row_id": 12345, "scheme": None},
    "leased_events": {"event_ids": [ONE_ID, "evt_lookup_0000007"], "scheme": None},
    "replay_events": {
        "event_ids": [ONE_ID],
        "row_ids": None,
        "status": None,
        "statuses": None,
        "scheme": None,
        "event_type": None,
        "since": None,
        "until": None,
        "event_id": None,
        "endpoint": None,
        "replayed_by": "a test",
    },
    "stored_event_ids": {"scheme": "github", "event_ids": [ONE_ID]},
    # `events list`: the primary key read backwards (arrival order), never a sort of the table.
    "list_events": {
        "status": None,
        "scheme": None,
        "event_type": None,
        "since": None,
        "until": None,
        "event_id": None,
        "before": None,
        "limit": 50,
        "endpoint": None,
    },
    # `stats`: only done and skipped may be read whole, and only on a small table.
    "stats_unfinished": {"endpoint": None},
    "stats_processed": {"endpoint": None},
    "skipped_types": {"since": datetime.now(UTC) - timedelta(days=1), "limit": 20, "endpoint": None},
    "stats_unfinished of one endpoint": {"endpoint": "stripe"},
}


EMPTY_PARTITIONS = """
SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
WHERE i.inhparent = 'webhook_events'::regclass AND pg_relation_size(c.oid) = 0
"""


@pytest.mark.parametrize("name", QUERIES)
def test_a_lookup_uses_an_index(many_events: str, name: str) -> None:
    with psycopg.connect(many_events) as conn:
        version = conn.info.server_version // 10000
        rows = conn.execute("EXPLAIN " + sql.query(name.split()[0]), QUERIES[name]).fetchall()
        conn.rollback()
        # The days ahead are empty: reading one whole is free, and the plan does so.
        empty = {name for (name,) in conn.execute(EMPTY_PARTITIONS)}
    plan = "\n".join(line for (line,) in rows)
    read_whole = [
        line for line in plan.splitlines() if "Seq Scan" in line and line.split(" on ")[1].split()[0] not in empty
    ]
    assert read_whole == [], f"Postgres {version} reads the whole table:\n{plan}"
    assert "Index" in plan, plan
