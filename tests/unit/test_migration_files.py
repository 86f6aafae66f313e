"""How migration files are read: the no-transaction marker and the statements it runs one by one."""

from __future__ import annotations

from webhook_server import sql


def test_the_shipped_migrations_are_numbered_in_order_and_only_concurrent_builds_leave_the_transaction() -> None:
    shipped = sql.migrations()
    assert [m.version for m in shipped] == list(range(1, len(shipped) + 1))
    outside = [m for m in shipped if not m.transactional]
    assert [m.label for m in outside] == ["0006_retention"]
    assert all("CONCURRENTLY" in statement for m in outside for statement in m.statements)


def test_a_marked_migration_runs_statement_by_statement() -> None:
    migration = sql.parse_migration(
        "0042_index.sql",
        f"{sql.NO_TRANSACTION_MARKER}\n"
        "-- Why: lookups by type.\n"
        "DROP INDEX CONCURRENTLY IF EXISTS x_idx;\n"
        "CREATE INDEX CONCURRENTLY x_idx\n"
        "    ON webhook_events (event_type); -- built without blocking inserts\n"
        "\n",
    )
    assert migration is not None
    assert (migration.label, migration.transactional) == ("0042_index", False)
    assert migration.statements == [
        f"{sql.NO_TRANSACTION_MARKER}\n-- Why: lookups by type.\nDROP INDEX CONCURRENTLY IF EXISTS x_idx",
        "CREATE INDEX CONCURRENTLY x_idx\n    ON webhook_events (event_type)",
    ]


def test_files_not_named_like_a_migration_are_not_one() -> None:
    assert sql.parse_migration("README.md", "") is None
    assert sql.parse_migration("42_short.sql", "") is None
