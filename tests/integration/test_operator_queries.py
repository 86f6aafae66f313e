"""Operator queries against a real Postgres: list, show, replay, stats, and the schema check."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.harness.postgres import make_day
from tests.integration.test_migrate import fresh_database
from webhook_server.dev.localdb import free_port
from webhook_server.errors import DatabaseUnavailable
from webhook_server.inbox import IncomingEvent, insert_events
from webhook_server.operator import queries


def store(database_url: str, event_id: str, *, scheme: str = "stripe", event_type: str = "invoice.paid", **columns):
    """Insert one event the way ingest does, then set the columns a worker would have set."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        payload = f'{{"id": "{event_id}", "type": "{event_type}"}}'
        insert_events(conn, [IncomingEvent(scheme, event_id, event_type, payload)])
        if "received_at" in columns:
            make_day(conn, columns["received_at"])
        for column, value in columns.items():
            conn.execute(
                f"UPDATE webhook_events SET {column} = %s WHERE provider = %s AND event_id = %s",
                (value, scheme, event_id),
            )


def row(database_url: str, event_id: str) -> dict:
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute("SELECT * FROM webhook_events WHERE event_id = %s", (event_id,)).fetchone()


def now() -> datetime:
    return datetime.now(UTC)


def test_replay_brings_a_dead_event_back_and_wakes_the_workers(clean_db: str) -> None:
    store(clean_db, "evt_dead", status="dead", attempts=8, last_error="HTTP 500 from billing", processed_at=now())
    store(clean_db, "evt_other_dead", status="dead", attempts=8)
    with psycopg.connect(clean_db, autocommit=True) as listener, queries.connect(clean_db) as conn:
        listener.execute("LISTEN webhook_events")
        result = queries.replay(conn, by="a test", event_ids=["evt_dead"], where=queries.EventFilter())
        notifies = list(listener.notifies(timeout=5, stop_after=1))
    assert result == queries.ReplayResult([("stripe", "evt_dead")])
    assert [n.channel for n in notifies] == ["webhook_events"]
    replayed = row(clean_db, "evt_dead")
    assert (replayed["status"], replayed["attempts"], replayed["processed_at"]) == ("pending", 0, None)
    assert replayed["next_attempt_at"] <= now()
    assert replayed["last_error"] == "HTTP 500 from billing"  # kept until the next attempt replaces it
    assert row(clean_db, "evt_other_dead")["status"] == "dead"


def test_replay_by_status_takes_only_that_status_since_the_given_time(clean_db: str) -> None:
    store(clean_db, "evt_recent_dead", status="dead", attempts=8)
    store(clean_db, "evt_old_dead", status="dead", attempts=8, received_at=now() - timedelta(days=5))
    store(clean_db, "evt_done", status="done", attempts=1)
    store(clean_db, "evt_skipped", status="skipped", attempts=1)
    with queries.connect(clean_db) as conn:
        result = queries.replay(
            conn, by="a test", where=queries.EventFilter(status="dead", since=now() - timedelta(days=3))
        )
    assert result.replayed == [("stripe", "evt_recent_dead")]
    assert [row(clean_db, e)["status"] for e in ("evt_old_dead", "evt_done", "evt_skipped")] == [
        "dead",
        "done",
        "skipped",
    ]


def test_replay_leaves_an_event_under_a_live_lease_alone_and_reports_unknown_ids(clean_db: str) -> None:
    lease_end = now() + timedelta(minutes=5)
    store(clean_db, "evt_busy", status="failed", attempts=2, locked_until=lease_end, locked_by="worker-1")
    store(clean_db, "evt_stale_lease", status="dead", attempts=8, locked_until=now() - timedelta(minutes=1))
    with queries.connect(clean_db) as conn:
        result = queries.replay(
            conn, by="a test", event_ids=["evt_busy", "evt_stale_lease", "evt_nowhere"], where=queries.EventFilter()
        )
    assert result.replayed == [("stripe", "evt_stale_lease")]
    assert [(e.event_id, e.locked_by) for e in result.leased] == [("evt_busy", "worker-1")]
    assert result.unknown == ["evt_nowhere"]
    busy = row(clean_db, "evt_busy")
    assert (busy["status"], busy["attempts"], busy["locked_by"]) == ("failed", 2, "worker-1")
    assert row(clean_db, "evt_stale_lease")["locked_until"] is None


def test_replay_with_nothing_selected_sends_no_notification(clean_db: str) -> None:
    store(clean_db, "evt_done", status="done")
    with psycopg.connect(clean_db, autocommit=True) as listener, queries.connect(clean_db) as conn:
        listener.execute("LISTEN webhook_events")
        result = queries.replay(conn, by="a test", where=queries.EventFilter(status="dead"))
        notifies = list(listener.notifies(timeout=0.5, stop_after=1))
    assert result.replayed == []
    assert notifies == []


def test_list_filters_and_orders_newest_first(clean_db: str) -> None:
    store(clean_db, "evt_a", status="dead", received_at=now() - timedelta(hours=2))
    store(clean_db, "evt_b", status="dead", event_type="charge.failed", received_at=now() - timedelta(hours=1))
    store(clean_db, "evt_c", status="done")
    store(clean_db, "msg_d", scheme="standard", status="dead")
    with queries.connect(clean_db) as conn:

        def ids(limit: int = 50, **where) -> list[str]:
            return [e.event_id for e in queries.list_events(conn, queries.EventFilter(**where), limit=limit)]

        assert ids() == ["msg_d", "evt_c", "evt_b", "evt_a"]
        assert ids(status="dead") == ["msg_d", "evt_b", "evt_a"]
        assert ids(status="dead", scheme="stripe") == ["evt_b", "evt_a"]
        assert ids(event_type="charge.failed") == ["evt_b"]
        assert ids(since=now() - timedelta(minutes=90)) == ["msg_d", "evt_c", "evt_b"]
        assert ids(limit=2) == ["msg_d", "evt_c"]


def test_show_finds_by_event_id_or_row_id_and_reports_ambiguity(clean_db: str) -> None:
    store(clean_db, "evt_x", last_error="boom")
    store(clean_db, "evt_x", scheme="standard")
    with queries.connect(clean_db) as conn:
        both = queries.find_events(conn, "evt_x")
        assert sorted(e.scheme for e in both) == ["standard", "stripe"]
        (stripe_event,) = queries.find_events(conn, "evt_x", scheme="stripe")
        assert stripe_event.payload == {"id": "evt_x", "type": "invoice.paid"}
        assert stripe_event.last_error == "boom"
        (by_row,) = queries.find_events(conn, str(stripe_event.id))
        assert by_row == stripe_event
        assert queries.find_events(conn, "evt_none") == []
        assert queries.find_events(conn, "9" * 30) == []  # too large for a row id: only an event id


def test_stats_counts_ages_and_rates(clean_db: str) -> None:
    store(clean_db, "evt_p1", next_attempt_at=now() - timedelta(minutes=10))
    store(clean_db, "evt_p2")
    store(clean_db, "msg_p3", scheme="standard")
    store(clean_db, "evt_f", status="failed", attempts=1, next_attempt_at=now() - timedelta(minutes=30))
    store(clean_db, "evt_d1", status="done", processed_at=now() - timedelta(seconds=10))
    store(clean_db, "evt_d2", status="done", processed_at=now() - timedelta(minutes=30))
    store(clean_db, "evt_d3", status="done", processed_at=now() - timedelta(hours=3))
    store(clean_db, "evt_x", status="dead", processed_at=now() - timedelta(seconds=20))
    with queries.connect(clean_db) as conn:
        found = queries.stats(conn)
    assert found.counts == {
        "standard": {"pending": 1},
        "stripe": {"pending": 2, "failed": 1, "done": 3, "dead": 1},
    }
    assert [found.total(s) for s in queries.STATUSES] == [3, 1, 3, 1, 0]
    assert timedelta(minutes=10) <= found.oldest_pending < timedelta(minutes=11)
    assert (found.processed_last_minute, found.processed_last_hour) == (2, 3)


def test_stats_lists_the_skipped_types_most_frequent_first(clean_db: str) -> None:
    for number in range(3):
        store(clean_db, f"evt_s{number}", event_type="invoice.created", status="skipped")
    store(clean_db, "msg_s", scheme="standard", event_type="user.deleted", status="skipped")
    store(clean_db, "evt_done", event_type="invoice.paid", status="done")
    with queries.connect(clean_db) as conn:
        found = queries.stats(conn)
    assert [(s.scheme, s.event_type, s.events) for s in found.skipped_types] == [
        ("stripe", "invoice.created", 3),
        ("standard", "user.deleted", 1),
    ]
    assert now() - timedelta(minutes=1) < found.skipped_types[0].last_received_at <= now()


def test_stats_without_pending_events_has_no_oldest_pending(clean_db: str) -> None:
    with queries.connect(clean_db) as conn:
        assert queries.stats(conn) == queries.Stats({}, None, 0, 0)
    store(clean_db, "evt_d", status="done", processed_at=now() - timedelta(hours=2))
    with queries.connect(clean_db) as conn:
        assert queries.stats(conn) == queries.Stats({"stripe": {"done": 1}}, None, 0, 0)


def test_stats_backlog_age_counts_events_nobody_holds(clean_db: str) -> None:
    """A held event's next_attempt_at is the end of its lease: it is being worked on, not waiting."""
    lease_end = now() + timedelta(seconds=60)
    store(clean_db, "evt_held", locked_until=lease_end, next_attempt_at=lease_end)
    with queries.connect(clean_db) as conn:
        assert queries.stats(conn).oldest_pending is None
    expired = now() - timedelta(minutes=5)
    store(clean_db, "evt_orphaned", locked_until=expired, next_attempt_at=expired)
    with queries.connect(clean_db) as conn:
        assert timedelta(minutes=5) <= queries.stats(conn).oldest_pending < timedelta(minutes=6)


def test_an_unmigrated_database_names_the_command_that_fixes_it(database_url: str) -> None:
    url = fresh_database(database_url, "admin_unmigrated")
    expected = (
        r"0001_webhook_events, 0002_processing, .*0004_attempt_history.*0005_endpoints_and_headers, 0006_retention, "
        r"0007_replay_marks, 0008_scheme_column, 0009_partitions, 0010_forwarding: "
        r"run `webhook-server migrate`"
    )
    with pytest.raises(queries.SchemaNotReady, match=expected), queries.connect(url):
        pass
    with psycopg.connect(url, autocommit=True) as conn:  # only the first migration applied
        conn.execute("CREATE TABLE webhook_schema_migrations (version integer PRIMARY KEY, name text)")
        conn.execute("INSERT INTO webhook_schema_migrations VALUES (1, 'webhook_events')")
    with pytest.raises(queries.SchemaNotReady, match=r"lacks migrations 0002_processing, "), queries.connect(url):
        pass


def test_an_unreachable_database_fails_within_the_bound(database_url: str) -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    started = time.monotonic()
    with (
        pytest.raises(DatabaseUnavailable, match="is Postgres up and DATABASE_URL right"),
        queries.connect(url, timeout=2),
    ):
        pass
    assert time.monotonic() - started < 10


def test_stats_on_a_large_table_estimates_done_and_skipped_and_counts_the_rest(clean_db: str) -> None:
    # 500-byte payloads: about 3,500 pages, so a 20 % page sample's error is about 3 % (11 % at
    # most in 300 tries), well inside the bounds below.
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO webhook_events (provider, event_id, event_type, payload, status, processed_at) "
            "SELECT 'stripe', 'evt_' || n, 'invoice.paid', jsonb_build_object('pad', repeat('x', 500)), "
            "CASE WHEN n % 10 = 0 THEN 'skipped' WHEN n % 1000 = 1 THEN 'dead' ELSE 'done' END, now() "
            "FROM generate_series(1, 50000) AS n"
        )
        conn.execute("ANALYZE webhook_events")
    store(clean_db, "evt_waiting")
    store(clean_db, "evt_old_skip", event_type="old.type", status="skipped", received_at=now() - timedelta(days=2))
    with queries.connect(clean_db) as conn:
        exact = queries.stats(conn)
        sampled = queries.stats(conn, exact_count_rows=10_000, sample_rows=10_000)
    assert exact.counts == {"stripe": {"done": 44950, "skipped": 5001, "dead": 50, "pending": 1}}
    assert (exact.estimated, exact.sample_percent, exact.skipped_since) == ((), None, None)
    assert [(s.event_type, s.events) for s in exact.skipped_types] == [("invoice.paid", 5000), ("old.type", 1)]
    assert sampled.estimated == ("done", "skipped")
    assert 15 <= sampled.sample_percent <= 25  # about 10,000 of 50,001 rows
    counts = sampled.counts["stripe"]
    assert (counts["dead"], counts["pending"]) == (50, 1)  # never estimated
    assert abs(counts["done"] - 44950) < 44950 * 0.15
    assert abs(counts["skipped"] - 5000) < 5000 * 0.25
    assert (sampled.processed_last_minute, sampled.processed_last_hour) == (50000, 50000)
    # Skipped types: exact, but only those received in the last day (an index range, not the table).
    assert now() - timedelta(days=1, minutes=1) < sampled.skipped_since < now() - timedelta(hours=23)
    assert [(s.event_type, s.events) for s in sampled.skipped_types] == [("invoice.paid", 5000)]
