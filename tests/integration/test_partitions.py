"""The inbox's daily partitions on a real Postgres: made ahead, deduplicated across days by the key
table, and retired whole by retention (DETACH PARTITION CONCURRENTLY + DROP)."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from flask.testing import FlaskClient

from tests.harness.gunicorn import STRIPE_SECRET
from tests.harness.postgres import make_day
from tests.integration.test_operator_queries import store
from webhook_server.dev.samples import signed_stripe_request, stripe_event
from webhook_server.errors import DatabaseUnavailable
from webhook_server.inbox import Inbox, IncomingEvent, insert_events
from webhook_server.retention import partitions
from webhook_server.retention.prune import prune

OLD = timedelta(days=40)


def now() -> datetime:
    return datetime.now(UTC)


def day_name(when: datetime) -> str:
    return f"webhook_events_p{when.astimezone(UTC):%Y%m%d}"


def tables(database_url: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND relname LIKE 'webhook_event%'"
        )
        return {name for (name,) in rows}


def keys(database_url: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        return {event_id for (event_id,) in conn.execute("SELECT event_id FROM webhook_event_keys")}


def test_a_new_install_is_partitioned_by_day_a_week_ahead(clean_db: str) -> None:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        kinds = dict(
            conn.execute(
                "SELECT relname, relkind FROM pg_class WHERE relname IN ('webhook_events', 'webhook_event_attempts')"
            )
        )
        assert kinds == {"webhook_events": "p", "webhook_event_attempts": "p"}
        partitions.ensure(conn)  # a day more if midnight (UTC) passed since the tests' database was migrated
    days = [now() + timedelta(days=n) for n in range(partitions.DAYS_AHEAD + 1)]
    assert {day_name(day) for day in days} <= tables(clean_db)
    assert {day_name(day).replace("webhook_events", "webhook_event_attempts") for day in days} <= tables(clean_db)


def test_a_retry_days_later_is_a_duplicate_in_another_days_partition(client: FlaskClient, clean_db: str) -> None:
    """Stripe retries for 3 days: the first delivery sits in its day's partition, the retry arrives
    into today's, and the key table still says it is stored."""
    event = stripe_event("invoice.paid")
    body, headers = signed_stripe_request(event, STRIPE_SECRET)
    first = client.post("/webhooks/stripe", data=body, headers=headers)
    assert first.json == {"received": True, "duplicate": False}
    three_days_ago = now() - timedelta(days=3)
    with psycopg.connect(clean_db, autocommit=True) as conn:  # as if it had arrived three days ago
        make_day(conn, three_days_ago)
        conn.execute("UPDATE webhook_events SET received_at = %s WHERE event_id = %s", (three_days_ago, event["id"]))
    body, headers = signed_stripe_request(event, STRIPE_SECRET)
    retry = client.post("/webhooks/stripe", data=body, headers=headers)
    assert retry.json == {"received": True, "duplicate": True}
    with psycopg.connect(clean_db) as conn:
        rows = conn.execute("SELECT tableoid::regclass::text FROM webhook_events WHERE event_id = %s", (event["id"],))
        assert [name for (name,) in rows] == [day_name(three_days_ago)]


def test_one_event_twice_in_a_batch_is_stored_once(clean_db: str) -> None:
    event = IncomingEvent("stripe", "evt_twice", "invoice.paid", '{"id": "evt_twice"}')
    with psycopg.connect(clean_db, autocommit=True) as conn:
        assert insert_events(conn, [event, event]) == {("stripe", "evt_twice")}
        assert conn.execute("SELECT count(*) FROM webhook_events").fetchone() == (1,)


def test_retention_drops_a_finished_day_with_its_history_and_keys(clean_db: str) -> None:
    for number in range(5):
        store(clean_db, f"evt_old_{number}", status="done", received_at=now() - OLD)
    store(clean_db, "evt_recent", status="done", received_at=now() - timedelta(days=2))
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO webhook_event_attempts (event_row, event_received_at, attempt, worker, started_at, "
            "finished_at, outcome) SELECT id, received_at, 1, 'host:1', now(), now(), 'done' FROM webhook_events"
        )
        assert prune(conn, before=now() - timedelta(days=30)) == 5
        assert conn.execute("SELECT count(*) FROM webhook_event_attempts").fetchone() == (1,)
    old_day = day_name(now() - OLD)
    assert old_day not in tables(clean_db)
    assert old_day.replace("webhook_events", "webhook_event_attempts") not in tables(clean_db)
    assert keys(clean_db) == {"evt_recent"}


def test_a_day_holding_an_unfinished_event_stays_and_only_its_finished_ones_go(clean_db: str) -> None:
    store(clean_db, "evt_done", status="done", received_at=now() - OLD)
    store(clean_db, "evt_dead", status="dead", received_at=now() - OLD)
    store(clean_db, "evt_failed", status="failed", received_at=now() - OLD - timedelta(days=1))
    with psycopg.connect(clean_db, autocommit=True) as conn:
        assert prune(conn, before=now() - timedelta(days=30)) == 1
        remaining = {event_id for (event_id,) in conn.execute("SELECT event_id FROM webhook_events")}
    assert remaining == {"evt_dead", "evt_failed"}
    assert {day_name(now() - OLD), day_name(now() - OLD - timedelta(days=1))} <= tables(clean_db)
    assert keys(clean_db) == {"evt_dead", "evt_failed"}
    with psycopg.connect(clean_db, autocommit=True) as conn:  # asked for, the dead go too, and their day
        assert prune(conn, before=now() - timedelta(days=30), statuses=("done", "skipped", "dead")) == 1
    assert day_name(now() - OLD) not in tables(clean_db)


def test_a_day_still_in_use_is_left_pending_and_dropped_by_the_next_retention(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction holding a row of the day (a long report would too) holds up its detach, not
    the retention: the day waits, out of sight of new queries, and goes at the next round. (A
    transaction on webhook_events holds up every detach: the first day it meets stays pending.)"""
    monkeypatch.setattr(partitions, "DETACH_WAIT_SECONDS", 0.5)
    store(clean_db, "evt_held", status="done", received_at=now() - OLD)
    with psycopg.connect(clean_db) as holder, psycopg.connect(clean_db, autocommit=True) as conn:
        holder.execute("SELECT 1 FROM webhook_events WHERE event_id = 'evt_held' FOR UPDATE")
        conn.execute("SET lock_timeout = '20s'")  # retention's own, shorter wait applies, then this one again
        assert prune(conn, before=now() - timedelta(days=30)) == 0
        assert conn.execute("SHOW lock_timeout").fetchone() == ("20s",)
        assert conn.execute("SELECT count(*) FROM pg_inherits WHERE inhdetachpending").fetchone() == (1,)
        assert day_name(now() - OLD) in tables(clean_db)
        holder.commit()
        assert prune(conn, before=now() - timedelta(days=30)) == 1
    assert day_name(now() - OLD) not in tables(clean_db)
    assert keys(clean_db) == set()


def test_an_event_of_a_day_without_a_partition_is_refused_with_the_fix(clean_db: str) -> None:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE webhook_events DETACH PARTITION {day_name(now())}")
    inbox = Inbox(clean_db, timeout=5)
    try:
        with pytest.raises(DatabaseUnavailable, match="no partition holds the day: start a worker"):
            inbox.store(IncomingEvent("stripe", "evt_nowhere", "invoice.paid", "{}"))
    finally:
        inbox.close()
        with psycopg.connect(clean_db, autocommit=True) as conn:
            conn.execute(f"DROP TABLE {day_name(now())}")
            conn.execute(f"DROP TABLE {day_name(now()).replace('webhook_events', 'webhook_event_attempts')}")
            partitions.ensure(conn)
    assert keys(clean_db) == set()  # the key went back with the refused event


@pytest.mark.parametrize(
    "event_id",
    [
        "evt_nul_\x00_x",
        "evt_lone_\ud800",
        "evt_" + "9" * 5000,
        "evt_esc_\x1b[31m\r\n",
        "evt_" + "é" * 2000,
        "evt_" + "".join(random.Random(25).choices(string.ascii_letters, k=4000)),
    ],
    ids=["NUL", "lone surrogate", "5,000 digits", "escape sequences", "2,000 non-ASCII", "4,000 random letters"],
)
def test_a_hostile_event_id_is_stored_once_or_refused_with_nothing_stored(
    client: FlaskClient, clean_db: str, event_id: str
) -> None:
    """The key table is a second unique index on the event id: whatever the id holds, a delivery is
    stored once (its retry a duplicate) or refused with a 4xx and nothing stored, never a 5xx."""
    event = stripe_event("invoice.paid", event_id=event_id)
    answers = []
    for _ in range(2):
        body, headers = signed_stripe_request(event, STRIPE_SECRET)
        answers.append(client.post("/webhooks/stripe", data=body, headers=headers))
    with psycopg.connect(clean_db) as conn:
        (events,) = conn.execute("SELECT count(*) FROM webhook_events").fetchone()
        (stored_keys,) = conn.execute("SELECT count(*) FROM webhook_event_keys").fetchone()
    statuses = [answer.status_code for answer in answers]
    if statuses == [200, 200]:
        assert [answer.json["duplicate"] for answer in answers] == [False, True]
        assert (events, stored_keys) == (1, 1)
    else:
        assert all(400 <= status < 500 for status in statuses), [a.get_data(as_text=True) for a in answers]
        assert (events, stored_keys) == (0, 0)


def test_a_dropped_day_takes_its_events_forwarding_with_it(clean_db: str) -> None:
    """A DROP fires no delete trigger: retention deletes the day's deliveries, their attempts and
    its fan-out queue rows itself, as a DELETE of the events would through 0010's triggers."""
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("INSERT INTO webhook_destinations (name) VALUES ('app')")  # fan-out queues from now on
    for number in range(3):
        store(clean_db, f"evt_fwd_old_{number}", status="done", received_at=now() - OLD)
    store(clean_db, "evt_fwd_recent", status="done", received_at=now() - timedelta(days=2))
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO webhook_deliveries (destination, event_row, endpoint, status) "
            "SELECT 'app', id, 'stripe', 'delivered' FROM webhook_events"
        )
        conn.execute(
            "INSERT INTO webhook_delivery_attempts (delivery_id, attempt, worker, started_at, finished_at, outcome) "
            "SELECT id, 1, 'host:1', now(), now(), 'delivered' FROM webhook_deliveries"
        )
        assert prune(conn, before=now() - timedelta(days=30)) == 3
        recent = conn.execute("SELECT id FROM webhook_events WHERE event_id = 'evt_fwd_recent'").fetchone()
        for table, column in (("webhook_deliveries", "event_row"), ("webhook_forward_queue", "event_row")):
            rows = [row for (row,) in conn.execute(f"SELECT {column} FROM {table}")]
            assert rows == [recent[0]], table
        assert conn.execute("SELECT count(*) FROM webhook_delivery_attempts").fetchone() == (1,)
