"""`migrate` while deliveries keep coming: every DDL statement waits at most one lock timeout,
so inserts queued behind it commit within their own timeout (WEBHOOK_DB_TIMEOUT) instead of 503.

Test-only migrations (numbered 9001+) are applied to a database of their own: an ALTER TABLE
(an ACCESS EXCLUSIVE lock) on a populated webhook_events and a CREATE INDEX CONCURRENTLY (a
no-transaction migration) on its key table (a partitioned table takes no concurrent build on
the parent). A transaction holding the table, as a long report would, makes the migration wait
for its lock longer than any insert may wait.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.harness.gunicorn import GunicornServer
from tests.harness.load import SignedLoad, assert_each_acknowledged_event_stored_once
from tests.integration.test_migrate import fresh_database
from webhook_server import sql
from webhook_server.migrations import LOCK_TIMEOUT_SECONDS, migrate

RATE = 100
# The blocking transaction is held this long: twice the inserts' WEBHOOK_DB_TIMEOUT (1.5 s).
BLOCK_SECONDS = 3.0
POPULATED_ROWS = 50_000
ALTER = sql.parse_migration("9001_traffic_note.sql", "ALTER TABLE webhook_events ADD COLUMN traffic_note text;\n")
INDEX = sql.parse_migration(
    "9002_traffic_index.sql",
    f"{sql.NO_TRANSACTION_MARKER}\n"
    "DROP INDEX CONCURRENTLY IF EXISTS webhook_event_keys_traffic_idx;\n"
    "CREATE INDEX CONCURRENTLY webhook_event_keys_traffic_idx ON webhook_event_keys (event_id, provider);\n",
)


def populated_database(database_url: str, name: str) -> str:
    url = fresh_database(database_url, name)
    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO webhook_events (provider, event_id, event_type, payload, status) "
            "SELECT 'stripe', 'evt_old_' || n, 'invoice.paid', jsonb_build_object('n', n), 'done' "
            "FROM generate_series(1, %s) AS n",
            (POPULATED_ROWS,),
        )
        conn.execute("INSERT INTO webhook_event_keys SELECT provider, event_id FROM webhook_events")
    return url


def run_migrate(url: str, results: dict[str, object], **kwargs: object) -> threading.Thread:
    def run() -> None:
        try:
            results["applied"] = migrate(url, shipped=[*sql.migrations(), ALTER, INDEX], **kwargs)
        except Exception as exc:  # reported by the test
            results["error"] = exc

    thread = threading.Thread(target=run, name="migrate-under-traffic")
    thread.start()
    return thread


def index_is_valid(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'webhook_event_keys_traffic_idx'::regclass"
        ).fetchone() == (True,)


def test_migrate_under_traffic_gives_no_503(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = populated_database(database_url, "migrate_traffic")
    server = GunicornServer(url, tmp_path / "gunicorn.log")
    results: dict[str, object] = {}
    caplog.set_level(logging.WARNING, logger="webhook_server.migrations")
    try:
        server.wait_until_healthy()
        with SignedLoad(server.url("/webhooks/stripe"), RATE) as load, psycopg.connect(url) as report:
            time.sleep(1.0)
            report.execute("SELECT count(*) FROM webhook_events")  # its transaction holds the table
            blocked_at = time.monotonic()
            migration = run_migrate(url, results)
            time.sleep(BLOCK_SECONDS)
            report.commit()
            migration.join(60)
            migrated_after = time.monotonic() - blocked_at
            time.sleep(1.0)
    finally:
        server.kill()
    assert "error" not in results, results
    assert results["applied"] == ["9001_traffic_note", "9002_traffic_index"]
    assert index_is_valid(url)
    assert BLOCK_SECONDS <= migrated_after < BLOCK_SECONDS + 15
    gave_way = [r for r in caplog.records if "gave way to traffic" in r.getMessage()]
    assert len(gave_way) >= 2, "the migration never waited for the report's lock: the test proves nothing"
    assert load.ledger.failures == []
    assert len(load.ledger.acknowledged) > RATE * BLOCK_SECONDS / 2
    assert load.ledger.slowest < 1.5, f"an insert waited {load.ledger.slowest:.2f} s behind the migration"
    assert_each_acknowledged_event_stored_once(load.ledger, url)


def test_without_a_lock_timeout_the_same_migration_stalls_the_inserts(database_url: str, tmp_path: Path) -> None:
    """The control: what the lock timeout prevents, under the same traffic and the same report."""
    url = populated_database(database_url, "migrate_traffic_control")
    server = GunicornServer(url, tmp_path / "gunicorn.log")
    results: dict[str, object] = {}
    try:
        server.wait_until_healthy()
        with SignedLoad(server.url("/webhooks/stripe"), RATE) as load, psycopg.connect(url) as report:
            time.sleep(0.5)
            report.execute("SELECT count(*) FROM webhook_events")
            migration = run_migrate(url, results, lock_timeout=0)  # 0: wait for ever, as before
            time.sleep(BLOCK_SECONDS)
            report.commit()
            migration.join(60)
    finally:
        server.kill()
    assert results["applied"] == ["9001_traffic_note", "9002_traffic_index"]
    # SignedLoad sends one delivery at a time: a stalled insert holds back the ones after it.
    assert load.ledger.slowest >= 1.5
    assert [failure for failure in load.ledger.failures if " 503 " in failure] != []


def test_a_concurrent_index_build_that_times_out_is_rebuilt(database_url: str) -> None:
    """CREATE INDEX CONCURRENTLY waits for older snapshots; timed out, it leaves an invalid index
    behind, which the migration's re-run drops and builds again."""
    url = populated_database(database_url, "migrate_index_retry")
    results: dict[str, object] = {}
    with psycopg.connect(url) as snapshot:
        snapshot.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        snapshot.execute("SELECT count(*) FROM webhook_schema_migrations")  # takes the snapshot
        migration = run_migrate(url, results)
        deadline = time.monotonic() + 20
        while not _invalid_index_exists(url):
            assert time.monotonic() < deadline, results
            time.sleep(LOCK_TIMEOUT_SECONDS / 5)
        snapshot.commit()
    migration.join(60)
    assert results.get("applied") == ["9001_traffic_note", "9002_traffic_index"], results
    assert index_is_valid(url)


def _invalid_index_exists(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = 'webhook_event_keys_traffic_idx' AND NOT i.indisvalid"
        ).fetchone() == (1,)
