"""Remove finished events received before a cutoff: whole days first, then row by row.

A day wholly before the cutoff whose events are all finished goes whole, detached and dropped
(webhook_server.retention.partitions): the cheap way, and the common one. What is left before
the cutoff (a day that also holds a pending, failed or dead event; the table from before the
conversion to partitions, or a table not converted yet) is deleted in batches of BATCH_SIZE,
each its own short transaction: one statement deleting a million rows would hold its locks and
its WAL until the end, and a statement timeout would undo all of it; so ingest's inserts and
the workers' updates wait behind none of them for long, and an interrupted prune keeps what it
deleted. Pending, failed and held events are never pruned: only the statuses given, at most
PRUNABLE_STATUSES.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

import psycopg

from webhook_server import sql
from webhook_server.durations import parse_duration
from webhook_server.retention import partitions

# What retention removes by default, and what it may remove when asked (dead only explicitly).
DEFAULT_STATUSES = ("done", "skipped")
PRUNABLE_STATUSES = ("done", "skipped", "dead")
# Rows per transaction: about 50 ms of work, so no lock or commit waits long behind a batch.
BATCH_SIZE = 1000
DEFAULT_RETENTION = "30d"
RETENTION_OFF = "off"


def parse_age(text: str) -> timedelta:
    """``30d`` → 30 days; ValueError naming the accepted form for anything but a positive duration."""
    duration = parse_duration(text)
    if duration is None or duration <= timedelta(0):
        raise ValueError(f"{text!r} is not a positive duration (a number and one of s, m, h, d, w: 12h, 30d, 2w)")
    return duration


def parse_retention(text: str) -> timedelta | None:
    """``30d`` → 30 days, ``off`` → None."""
    if text.strip().lower() == RETENTION_OFF:
        return None
    try:
        return parse_age(text)
    except ValueError as exc:
        raise ValueError(f"{exc} nor {RETENTION_OFF!r}") from None


def prune(
    conn: psycopg.Connection,
    *,
    before: datetime,
    statuses: Sequence[str] = DEFAULT_STATUSES,
    batch_size: int = BATCH_SIZE,
    pause: float = 0.0,
    stop: threading.Event | None = None,
) -> int:
    """Remove events in ``statuses`` received before ``before``; return how many.

    ``conn`` must be in autocommit, so each batch is its own transaction (and a day can be
    detached concurrently). ``pause`` seconds between batches leave the database to other work;
    setting ``stop`` ends the run between days or batches (what was removed stays removed).
    """
    unknown = set(statuses) - set(PRUNABLE_STATUSES)
    if unknown:
        raise ValueError(f"only {', '.join(PRUNABLE_STATUSES)} events may be pruned, not {', '.join(sorted(unknown))}")
    params = {"statuses": list(statuses), "before": before, "batch": batch_size}
    stop = stop or threading.Event()
    deleted = partitions.retire(conn, before=before, statuses=statuses, stop=stop)
    while not stop.is_set():
        batch = conn.execute(sql.query("prune_events"), params).rowcount
        deleted += batch
        if batch < batch_size or stop.wait(pause):
            break
    return deleted
