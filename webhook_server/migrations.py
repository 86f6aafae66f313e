"""Apply the shipped schema migrations, once each, even when several hosts migrate at once, and
without stalling the traffic that keeps inserting meanwhile.

An ``ALTER TABLE`` waiting for its lock (behind a long report, say) makes every insert queue
behind it: each of them would wait longer than ``WEBHOOK_DB_TIMEOUT`` and answer 503. So every
statement of a migration waits at most LOCK_TIMEOUT_SECONDS for its locks; when that runs out
the migration is rolled back (its transaction) or re-run (a no-transaction one, see
webhook_server.sql) after a pause that grows, until MIGRATE_TIMEOUT_SECONDS. Inserts then wait
at most one lock timeout behind a migration, not the whole time it waits.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Sequence

import psycopg
from psycopg import errors as pg_errors

from webhook_server import db, sql

logger = logging.getLogger(__name__)

# Migrations may rewrite a large table; the advisory lock wait and the retries count against this.
MIGRATE_TIMEOUT_SECONDS = 300.0
# A third of WEBHOOK_DB_TIMEOUT's default (1.5 s): an insert queued behind a waiting migration
# still commits within its own timeout.
LOCK_TIMEOUT_SECONDS = 0.5
# Pauses between attempts: doubling from the first, never longer than the cap.
FIRST_RETRY_SECONDS = 0.5
RETRY_CAP_SECONDS = 10.0
# How often a run waiting for another run's lock tries again.
LOCK_POLL_SECONDS = 0.2
# The conversion to partitions' statements: each may read the whole table (hours at a billion rows).
CONVERT_STATEMENT_SECONDS = 24 * 3600.0


class LockNotGranted(Exception):
    """A migration did not get its locks within MIGRATE_TIMEOUT_SECONDS of retries."""


def migrate(
    database_url: str,
    *,
    shipped: Sequence[sql.Migration] | None = None,
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
) -> list[str]:
    """Bring the schema up to date and return the names of the migrations applied now.

    Behind a session advisory lock, so a concurrent run waits and then finds nothing left to
    do: on WEBHOOK_DIRECT_DATABASE_URL when DATABASE_URL goes through a transaction pooler.
    Each migration commits with its record in webhook_schema_migrations: a failing one
    leaves the schema at the one before. ``shipped`` defaults to the package's migrations.
    """
    shipped = sql.migrations() if shipped is None else shipped
    deadline = time.monotonic() + MIGRATE_TIMEOUT_SECONDS
    applied_now = []
    with db.connect(db.session_url(database_url), timeout=MIGRATE_TIMEOUT_SECONDS) as conn:
        _take_migrate_lock(conn, deadline)
        try:
            conn.execute(sql.query("create_migrations_table"))
            for migration in pending(conn, shipped):
                _apply(conn, migration, lock_timeout=lock_timeout, deadline=deadline)
                applied_now.append(migration.label)
        finally:
            if not conn.broken:
                conn.execute(sql.query("migrate_unlock"))
    return applied_now


def convert_to_partitions(database_url: str, *, lock_timeout: float = LOCK_TIMEOUT_SECONDS) -> bool:
    """Turn a populated plain inbox into the partitioned one of migration 0009, under traffic
    (sql/conversion/partition_inbox.sql); False when it is partitioned already.

    Behind the same advisory lock as ``migrate``, on a database every migration was applied
    to. Its long steps (the keys of every stored event, two index builds, two validations)
    block no insert and may run for hours on a large table, so its statements have no time
    limit of this process's; the swap at the end waits for its lock as a migration does.
    """
    conversion = sql.conversion()
    deadline = time.monotonic() + MIGRATE_TIMEOUT_SECONDS
    session = db.session_url(database_url)
    with db.connect(session, timeout=MIGRATE_TIMEOUT_SECONDS, statement_timeout=CONVERT_STATEMENT_SECONDS) as conn:
        _take_migrate_lock(conn, deadline)
        try:
            lacking = missing(conn)
            if lacking:
                raise ValueError(missing_message(lacking))
            if db.only_row(conn.execute(sql.query("inbox_partitioned")))[0]:
                return False
            _apply(conn, conversion, lock_timeout=lock_timeout, deadline=deadline, record=False)
        finally:
            if not conn.broken:
                conn.execute(sql.query("migrate_unlock"))
    return True


def _take_migrate_lock(conn: psycopg.Connection, deadline: float) -> None:
    """Wait for another run's migrations to end, holding no snapshot between tries (migrate_lock.sql)."""
    while not db.only_row(conn.execute(sql.query("migrate_lock")))[0]:
        if time.monotonic() > deadline:
            raise LockNotGranted(
                f"another `webhook-server migrate` held the schema for over {MIGRATE_TIMEOUT_SECONDS:.0f} s; "
                "check pg_stat_activity for it, then run migrate again"
            )
        time.sleep(LOCK_POLL_SECONDS)


def _apply(
    conn: psycopg.Connection, migration: sql.Migration, *, lock_timeout: float, deadline: float, record: bool = True
) -> None:
    pause = FIRST_RETRY_SECONDS
    for attempt in itertools.count(1):
        logger.info("applying migration %s (attempt %s)", migration.label, attempt)
        try:
            if migration.transactional:
                with conn.transaction():
                    _set_lock_timeout(conn, lock_timeout, is_local=True)
                    conn.execute(migration.sql)
                    if record:
                        _record(conn, migration)
            else:
                _set_lock_timeout(conn, lock_timeout, is_local=False)
                for statement in migration.statements:
                    conn.execute(statement)
                if record:
                    _record(conn, migration)
            return
        except pg_errors.LockNotAvailable as exc:
            if time.monotonic() + pause > deadline:
                raise LockNotGranted(
                    f"migration {migration.label} did not get its locks in {attempt} attempts over "
                    f"{MIGRATE_TIMEOUT_SECONDS:g} s ({exc}); find the long transaction holding webhook_events "
                    "(pg_stat_activity) and run `webhook-server migrate` again"
                ) from None
            logger.warning(
                "migration %s waited %.1f s for a lock and gave way to traffic; retrying in %.1f s",
                migration.label,
                lock_timeout,
                pause,
            )
        finally:
            if not migration.transactional and not conn.broken:
                _set_lock_timeout(conn, 0, is_local=False)  # back to none, for the lock and the record
        time.sleep(pause)
        pause = min(pause * 2, RETRY_CAP_SECONDS)


def _set_lock_timeout(conn: psycopg.Connection, seconds: float, *, is_local: bool) -> None:
    conn.execute(sql.query("set_lock_timeout"), {"milliseconds": str(int(seconds * 1000)), "is_local": is_local})


def _record(conn: psycopg.Connection, migration: sql.Migration) -> None:
    conn.execute(sql.query("record_migration"), {"version": migration.version, "name": migration.name})


def pending(conn: psycopg.Connection, shipped: Sequence[sql.Migration] | None = None) -> list[sql.Migration]:
    """The migrations this database has not applied, in order (its migrations table must exist)."""
    applied = {version for (version,) in conn.execute(sql.query("applied_migrations"))}
    return [migration for migration in shipped or sql.migrations() if migration.version not in applied]


def missing(conn: psycopg.Connection) -> list[str]:
    """Labels of the shipped migrations this database lacks: all of them when it was never migrated."""
    try:
        return [migration.label for migration in pending(conn)]
    except pg_errors.UndefinedTable:
        return [migration.label for migration in sql.migrations()]


def missing_message(labels: list[str]) -> str:
    """What to tell whoever meets a database that lacks ``labels``."""
    return f"the database lacks migrations {', '.join(labels)}: run `webhook-server migrate` with the same DATABASE_URL"
