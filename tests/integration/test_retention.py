"""Retention against a real Postgres: what `prune` deletes, what it never touches, in batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import psycopg
import pytest

from tests.integration.test_operator_queries import now, store
from webhook_server.retention.prune import prune

OLD = timedelta(days=40)


def stored_ids(database_url: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        return {event_id for (event_id,) in conn.execute("SELECT event_id FROM webhook_events")}


@pytest.fixture
def every_status(clean_db: str) -> str:
    """An old and a recent event of every status, and an old event a worker holds right now."""
    for status in ("pending", "failed", "done", "dead", "skipped"):
        store(clean_db, f"evt_old_{status}", status=status, received_at=now() - OLD)
        store(clean_db, f"evt_new_{status}", status=status)
    store(
        clean_db,
        "evt_old_held",
        status="failed",
        received_at=now() - OLD,
        locked_by="worker-1",
        locked_until=now() + timedelta(minutes=1),
    )
    return clean_db


def test_prune_deletes_only_old_done_and_skipped_events(every_status: str) -> None:
    before = stored_ids(every_status)
    with psycopg.connect(every_status, autocommit=True) as conn:
        deleted = prune(conn, before=now() - timedelta(days=30))
    assert deleted == 2
    assert before - stored_ids(every_status) == {"evt_old_done", "evt_old_skipped"}


def test_dead_events_go_only_when_asked_and_pending_failed_held_never(every_status: str) -> None:
    with psycopg.connect(every_status, autocommit=True) as conn:
        deleted = prune(conn, before=now() + timedelta(seconds=1), statuses=("done", "skipped", "dead"))
    assert deleted == 6
    assert stored_ids(every_status) == {
        "evt_old_pending",
        "evt_new_pending",
        "evt_old_failed",
        "evt_new_failed",
        "evt_old_held",
    }


@pytest.fixture
def delete_transactions(clean_db: str) -> Iterator[Callable[[], list[tuple[int, int]]]]:
    """The transaction id of every DELETE statement on webhook_events, in order, from a trigger."""
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE test_deletes (seq serial, xid bigint, deleted int)")
        conn.execute(
            "CREATE FUNCTION test_log_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO test_deletes (xid, deleted) SELECT txid_current(), count(*) FROM gone; RETURN NULL; END $$"
        )
        conn.execute(
            "CREATE TRIGGER test_log_delete AFTER DELETE ON webhook_events REFERENCING OLD TABLE AS gone "
            "FOR EACH STATEMENT EXECUTE FUNCTION test_log_delete()"
        )
        try:
            yield lambda: [tuple(row) for row in conn.execute("SELECT xid, deleted FROM test_deletes ORDER BY seq")]
        finally:
            conn.execute("DROP TRIGGER test_log_delete ON webhook_events")
            conn.execute("DROP FUNCTION test_log_delete()")
            conn.execute("DROP TABLE test_deletes")


def test_prune_goes_batch_by_batch_each_its_own_transaction(
    clean_db: str, delete_transactions: Callable[[], list[tuple[int, int]]]
) -> None:
    """Where a day cannot go whole (it also holds a dead event, kept), its finished events go by DELETE."""
    for number in range(7):
        store(clean_db, f"evt_{number}", status="done", received_at=now() - OLD)
    store(clean_db, "evt_dead", status="dead", received_at=now() - OLD)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        deleted = prune(conn, before=now() - timedelta(days=30), batch_size=3)
    assert deleted == 7
    batches = delete_transactions()
    assert [count for _, count in batches] == [3, 3, 1]
    assert len({xid for xid, _ in batches}) == 3
    assert stored_ids(clean_db) == {"evt_dead"}


def test_prune_passes_over_a_row_locked_by_someone_else_without_waiting(clean_db: str) -> None:
    store(clean_db, "evt_locked", status="done", received_at=now() - OLD)
    store(clean_db, "evt_free", status="done", received_at=now() - OLD)
    store(clean_db, "evt_dead", status="dead", received_at=now() - OLD)  # the day goes by DELETE
    with psycopg.connect(clean_db) as holder:
        holder.execute("SELECT 1 FROM webhook_events WHERE event_id = 'evt_locked' FOR UPDATE")
        with psycopg.connect(clean_db, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '2s'")  # a wait for the lock would fail the test
            assert prune(conn, before=now() - timedelta(days=30)) == 1
    assert stored_ids(clean_db) == {"evt_locked", "evt_dead"}


def test_prune_refuses_a_status_that_is_still_to_be_processed(clean_db: str) -> None:
    with psycopg.connect(clean_db, autocommit=True) as conn, pytest.raises(ValueError, match="pending"):
        prune(conn, before=now(), statuses=("done", "pending"))
