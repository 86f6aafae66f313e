"""Apply the shipped schema migrations, once each, even when several hosts migrate at once."""

from __future__ import annotations

import logging

import psycopg
from psycopg import errors as pg_errors

from webhook_server import db, sql

logger = logging.getLogger(__name__)

# Migrations may rewrite a large table; the advisory lock wait counts against this too.
MIGRATE_TIMEOUT_SECONDS = 300.0


def migrate(database_url: str) -> list[str]:
    """Bring the schema up to date and return the names of the migrations applied now.

    Everything runs in one transaction behind an advisory lock: a concurrent run waits, then
    finds nothing left to do; a failing migration leaves the schema as it was.
    """
    applied_now = []
    with db.connect(database_url, timeout=MIGRATE_TIMEOUT_SECONDS) as conn, conn.transaction():
        conn.execute(sql.query("migrate_lock"))
        conn.execute(sql.query("create_migrations_table"))
        for migration in pending(conn):
            logger.info("applying migration %s", migration.label)
            conn.execute(migration.sql)
            conn.execute(sql.query("record_migration"), {"version": migration.version, "name": migration.name})
            applied_now.append(migration.label)
    return applied_now


def pending(conn: psycopg.Connection) -> list[sql.Migration]:
    """The shipped migrations this database has not applied, in order (its migrations table must exist)."""
    applied = {version for (version,) in conn.execute(sql.query("applied_migrations"))}
    return [migration for migration in sql.migrations() if migration.version not in applied]


def missing(conn: psycopg.Connection) -> list[str]:
    """Labels of the shipped migrations this database lacks: all of them when it was never migrated."""
    try:
        return [migration.label for migration in pending(conn)]
    except pg_errors.UndefinedTable:
        return [migration.label for migration in sql.migrations()]


def missing_message(labels: list[str]) -> str:
    """What to tell whoever meets a database that lacks ``labels``."""
    return f"the database lacks migrations {', '.join(labels)}: run `webhook-server migrate` with the same DATABASE_URL"
