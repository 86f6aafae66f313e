from __future__ import annotations

import subprocess
import sys

import psycopg

from webhook_server import sql
from webhook_server.migrations import migrate

# Every shipped migration, in order (0003 is another branch's number: numbers may have gaps).
SHIPPED = [migration.label for migration in sql.migrations()]
BEFORE_PARTITIONS = [migration for migration in sql.migrations() if migration.version < 9]


def fresh_database(database_url: str, name: str) -> str:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return database_url.rsplit("/", 1)[0] + f"/{name}"


def test_migrate_applies_each_migration_once(database_url: str) -> None:
    url = fresh_database(database_url, "migrate_once")
    assert migrate(url) == SHIPPED
    assert SHIPPED[:2] == ["0001_webhook_events", "0002_processing"]
    assert {"0004_attempt_history", "0005_endpoints_and_headers", "0006_retention"} <= set(SHIPPED)
    assert migrate(url) == []


def test_concurrent_migrate_commands_from_several_hosts_agree(database_url: str) -> None:
    url = fresh_database(database_url, "migrate_race")
    command = [sys.executable, "-c", "from webhook_server.cli import run; run()", "migrate", "--database-url", url]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], outputs
    stdout = [out for out, _ in outputs]
    assert sum(f"applied: {', '.join(SHIPPED)}" in out for out in stdout) == 1
    assert sum("already up to date" in out for out in stdout) == 3


def test_0006_applies_where_its_indexes_were_already_built_by_hand(database_url: str) -> None:
    """An operator who built 0006's indexes concurrently by hand can still migrate: 0006 rebuilds them.

    On the plain table 0006 was written for (0009 partitions a new install, and a partitioned
    table's indexes are built per partition, never CONCURRENTLY on the parent)."""
    url = fresh_database(database_url, "migrate_prebuilt")
    migrate(url, shipped=BEFORE_PARTITIONS)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP INDEX webhook_events_event_id_idx, webhook_events_processed_at_idx")
        conn.execute("DELETE FROM webhook_schema_migrations WHERE version = 6")
        conn.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS webhook_events_event_id_idx ON webhook_events (event_id)")
        conn.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS webhook_events_processed_at_idx "
            "ON webhook_events (processed_at) WHERE processed_at IS NOT NULL"
        )
    assert migrate(url, shipped=BEFORE_PARTITIONS) == ["0006_retention"]
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'webhook_events'")
        names = {name for (name,) in rows}
    assert {"webhook_events_event_id_idx", "webhook_events_processed_at_idx"} <= names
