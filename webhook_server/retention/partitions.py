"""The inbox's daily partitions: made ahead of the days that need them, and retired whole.

``webhook_events`` and its attempt history are partitioned on the arrival time, a partition a
UTC day (migration 0008). Nothing stores into a day before it has a partition, and there is no
DEFAULT partition to catch a missing one (it would fill up and block every detach), so the
worker makes DAYS_AHEAD days ahead, every round of its maintenance, and ``migrate`` and
``prune`` do too.

Retention retires a day wholly before the cutoff with ``DETACH PARTITION ... CONCURRENTLY``
(inserts and reads go on; it cannot run in a transaction, so the client issues it), deletes
the day's keys from ``webhook_event_keys`` and drops both tables: no dead rows, no vacuum, and
the space goes back at once. A day that still holds an event retention must keep (pending,
failed, or dead unless asked) is not retired: its other rows go by the batched DELETE
(webhook_server.retention.prune). The DDL text is in ``sql/queries/``, its table names
composed as identifiers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql as pgsql
from psycopg.rows import class_row

from webhook_server import db, sql

logger = logging.getLogger(__name__)

# Days made ahead of today: a worker stopped for less than a week never leaves a day without
# its partition.
DAYS_AHEAD = 7
EVENTS = "webhook_events"
ATTEMPTS = "webhook_event_attempts"
STATUSES = ("pending", "failed", "done", "dead", "skipped")
# How long a detach waits for the transactions still using the day (it blocks no insert meanwhile).
DETACH_WAIT_SECONDS = 5.0
# Keys deleted per transaction before a day is dropped. Small enough that the plan probes the key
# table's primary key for each (10,000 made Postgres 18 read the whole key table each batch
# instead: 37 s for a day of 300,000 events against 3 s).
KEY_BATCH = 1000


@dataclass(frozen=True)
class Day:
    """A partition of webhook_events (a day, or the table from before the conversion) and its history's."""

    name: str
    bound: str  # FOR VALUES FROM (...) TO (...), as Postgres prints it
    detach_pending: bool
    attached: bool

    @property
    def attempts(self) -> str:
        return ATTEMPTS + self.name.removeprefix(EVENTS)


def ensure(conn: psycopg.Connection, days_ahead: int = DAYS_AHEAD) -> int:
    """Make the partitions of today and the next ``days_ahead`` days that are missing; how many were made."""
    return int(db.only_row(conn.execute(sql.query("ensure_partitions"), {"days": days_ahead}))[0])


def retire(
    conn: psycopg.Connection,
    *,
    before: datetime,
    statuses: Sequence[str],
    stop: threading.Event | None = None,
) -> int:
    """Detach and drop every day wholly before ``before`` whose events are all in ``statuses``;
    return how many events went with them. ``conn`` must be in autocommit (a concurrent detach
    cannot run in a transaction). Setting ``stop`` ends the run between two days."""
    kept = [status for status in STATUSES if status not in statuses]
    retired = 0
    with conn.cursor(row_factory=class_row(Day)) as cur:
        days = cur.execute(sql.query("old_partitions"), {"before": before}).fetchall()
    for day in days:
        if stop is not None and stop.is_set():
            break
        if day.attached and not day.detach_pending and _holds(conn, day.name, kept):
            continue
        if not _detach(conn, EVENTS, day.name):
            continue  # another worker's retention is detaching it
        # Checked again once detached: a replay may have made an event pending between the two.
        if _holds(conn, day.name, kept):
            _run(conn, "attach_partition", partition=day.name, bound=day.bound)
            continue
        if not _detach(conn, ATTEMPTS, day.attempts):
            continue
        retired += _delete_keys(conn, day.name)
        with conn.transaction():
            _run(conn, "drop_partition", partition=day.name)
            _run(conn, "drop_partition", partition=day.attempts)
    return retired


def _delete_keys(conn: psycopg.Connection, partition: str) -> int:
    """Delete the keys and the forwarding of a detached day's events, KEY_BATCH a transaction; return how
    many events it holds.

    Cut short, the day stays detached with some of its keys: the next retention finds it again.
    """
    events, after = 0, 0
    while True:
        count, after = db.only_row(
            _run(conn, "delete_partition_keys", {"after": after, "batch": KEY_BATCH}, partition=partition)
        )
        events += count
        if count < KEY_BATCH:
            return events


def _detach(conn: psycopg.Connection, parent: str, partition: str) -> bool:
    """Take ``partition`` out of ``parent`` if it is still in it, finishing a detach cut short.

    False when it cannot now: another worker's retention is detaching it (and drops it), or a
    transaction still uses it after DETACH_WAIT_SECONDS (a long report, a held row): the day
    then stays pending detach, out of every new query's sight, and the next round finishes it.
    """
    state = conn.execute(sql.query("partition_state"), {"name": partition}).fetchone()
    if state is None:
        return True
    (pending,) = state
    (previous,) = db.only_row(conn.execute(sql.query("current_lock_timeout")))
    _set_lock_timeout(conn, f"{int(DETACH_WAIT_SECONDS * 1000)}ms")
    try:
        _run(conn, "finish_detach" if pending else "detach_partition", parent=parent, partition=partition)
    except (pg_errors.UndefinedTable, pg_errors.ObjectNotInPrerequisiteState):  # detached, or being detached
        return False
    except pg_errors.LockNotAvailable:
        logger.info(
            "%s is still in use after %.0f s; its detach ends at the next retention", partition, DETACH_WAIT_SECONDS
        )
        return False
    finally:
        _set_lock_timeout(conn, previous)
    return True


def _set_lock_timeout(conn: psycopg.Connection, value: str) -> None:
    conn.execute(sql.query("set_lock_timeout"), {"milliseconds": value, "is_local": False})


def _holds(conn: psycopg.Connection, partition: str, kept: list[str]) -> bool:
    return bool(db.only_row(_run(conn, "partition_holds_kept", {"kept": kept}, partition=partition))[0])


def _run(
    conn: psycopg.Connection,
    name: str,
    params: dict[str, object] | None = None,
    *,
    parent: str = EVENTS,
    partition: str,
    bound: str = "",
) -> psycopg.Cursor[Any]:
    """Run the named statement with its table names as identifiers (and an attach's bound, Postgres' own text)."""
    statement = pgsql.SQL(sql.query(name)).format(
        parent=pgsql.Identifier(parent), partition=pgsql.Identifier(partition), bound=pgsql.SQL(bound)
    )
    return conn.execute(statement, params)
