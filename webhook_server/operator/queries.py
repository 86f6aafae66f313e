"""What an operator asks of the inbox: list and show events, replay them, count them.

The command line (operator/commands.py) and the dashboard (webhook_server/dashboard) both ask here.

Every function takes a connection from :func:`connect`, which refuses to hand one out before
the schema is migrated, so a command fails with the fix ("run `webhook-server migrate`")
rather than with a missing column halfway through.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import class_row

from webhook_server import db, migrations, sql
from webhook_server.errors import DatabaseUnavailable, first_line

# Longest wait for the connection and for each statement.
TIMEOUT_SECONDS = 15.0
# Above this many rows (the planner's estimate), stats estimates done and skipped from a sample
# instead of counting them: an exact count reads every row, 0.5-0.7 s a million.
EXACT_COUNT_ROWS = 1_000_000
# On such a table, the skipped types listed are those of the events received this recently.
SKIPPED_TYPES_WINDOW = timedelta(days=1)
# About this many rows in that sample, about 1,500 random page reads (0.3-0.6 s from disk at 10 M
# rows, measured); the error on a count in the millions is then about 3 %.
SAMPLE_ROWS = 30_000
STATUSES = ("pending", "failed", "done", "dead", "skipped")
# The most skipped types `stats` lists.
SKIPPED_TYPES_SHOWN = 20
# What `replay --status` may select: a finished `done` is replayed only by id, on purpose.
REPLAYABLE_STATUSES = ("dead", "failed", "skipped")
# What the dashboard's bulk replay selects among the events matching its filters.
BULK_REPLAY_STATUSES = ("dead", "failed")


class SchemaNotReady(Exception):
    """The database lacks migrations this version needs."""


@dataclass(frozen=True)
class EventSummary:
    """One row of ``events list``."""

    id: int
    scheme: str
    endpoint: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    received_at: datetime
    next_attempt_at: datetime
    last_error: str | None


@dataclass(frozen=True)
class EventDetail(EventSummary):
    """Everything ``events show`` prints: ``payload`` is the JSON as a handler gets it (parsed from
    ``body``, the bytes that were signed; from the stored jsonb for rows that predate the body)."""

    locked_until: datetime | None
    locked_by: str | None
    processed_at: datetime | None
    headers: dict[str, str]
    payload: Any
    body: bytes | None


@dataclass(frozen=True)
class Attempt:
    """One attempt in an event's history (``webhook_event_attempts``)."""

    attempt: int
    worker: str
    started_at: datetime
    finished_at: datetime
    outcome: str
    error: str | None


@dataclass(frozen=True)
class DeliveryAttempt:
    """One row of an event's deliveries to destinations (``webhook_deliveries`` and their attempts);
    the attempt fields are None for a delivery not tried yet."""

    destination: str
    delivery_status: str
    attempt: int | None
    started_at: datetime | None
    outcome: str | None
    status_code: int | None
    latency: float | None
    detail: str | None  # the error, or the start of the answer


@dataclass(frozen=True)
class DestinationState:
    """A destination the forwarder registered: paused or not, its backlog, its dead deliveries."""

    name: str
    paused_at: datetime | None
    paused_reason: str | None
    oldest_due: float
    dead: int


@dataclass(frozen=True)
class EventFilter:
    """The filters ``events list``, ``replay`` and the dashboard share; None matches everything.

    ``until`` is exclusive; ``event_id`` is the sender's event id, matched exactly.
    """

    status: str | None = None
    scheme: str | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    event_id: str | None = None
    endpoint: str | None = None

    def params(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "scheme": self.scheme,
            "event_type": self.event_type,
            "since": self.since,
            "until": self.until,
            "event_id": self.event_id,
            "endpoint": self.endpoint,
        }


@dataclass(frozen=True)
class LeasedEvent:
    scheme: str
    event_id: str
    locked_by: str | None
    locked_until: datetime


@dataclass(frozen=True)
class ReplayResult:
    replayed: list[tuple[str, str]]
    leased: list[LeasedEvent] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SkippedType:
    """Events of one scheme's type that no handler took."""

    scheme: str
    event_type: str
    events: int
    last_received_at: datetime


@dataclass(frozen=True)
class Stats:
    """Counts by endpoint and status, the backlog's age, the processing rate and the skipped types."""

    counts: dict[str, dict[str, int]]
    # How long the oldest pending event nobody holds has been due: since it arrived, was
    # replayed, or its lease ran out.
    oldest_pending: timedelta | None
    processed_last_minute: int
    processed_last_hour: int
    skipped_types: tuple[SkippedType, ...] = ()
    # None: skipped_types counts every skipped event; else only those received since then.
    skipped_since: datetime | None = None
    # The statuses whose counts are estimates (done, skipped on a large table), and from what
    # share of the table's pages.
    estimated: tuple[str, ...] = ()
    sample_percent: float | None = None

    def total(self, status: str) -> int:
        return sum(by_status.get(status, 0) for by_status in self.counts.values())


@contextmanager
def connect(database_url: str, *, timeout: float = TIMEOUT_SECONDS) -> Iterator[psycopg.Connection]:
    """A connection to a migrated inbox, every wait bounded by ``timeout``.

    Raises DatabaseUnavailable when Postgres cannot be reached and SchemaNotReady when
    migrations are missing; both messages say what to do.
    """
    try:
        conn = db.connect(database_url, timeout=timeout)
    except psycopg.Error as exc:
        raise DatabaseUnavailable(
            f"cannot connect to the database: {first_line(exc)}; is Postgres up and DATABASE_URL right?"
        ) from None
    with conn:
        missing = migrations.missing(conn)
        if missing:
            raise SchemaNotReady(migrations.missing_message(missing))
        yield conn


def list_events(
    conn: psycopg.Connection, where: EventFilter, *, limit: int, before: int | None = None
) -> list[EventSummary]:
    """The newest events matching ``where``, at most ``limit``; only rows below row id ``before`` when given
    (the next keyset page)."""
    with conn.cursor(row_factory=class_row(EventSummary)) as cur:
        return cur.execute(sql.query("list_events"), {**where.params(), "limit": limit, "before": before}).fetchall()


def count_replayable(conn: psycopg.Connection, where: EventFilter, statuses: Sequence[str]) -> int:
    """How many events matching ``where`` are in one of ``statuses`` (a bulk replay's count)."""
    (count,) = db.only_row(conn.execute(sql.query("count_events"), {**where.params(), "statuses": list(statuses)}))
    return count


def stored_event_ids(conn: psycopg.Connection, scheme: str, event_ids: list[str]) -> set[str]:
    """Which of ``event_ids`` are stored under ``scheme`` (``reconcile github``: what not to redeliver)."""
    rows = conn.execute(sql.query("stored_event_ids"), {"scheme": scheme, "event_ids": event_ids})
    return {event_id for (event_id,) in rows}


def find_events(conn: psycopg.Connection, ident: str, *, scheme: str | None = None) -> list[EventDetail]:
    """Events whose sender's event id is ``ident``, or whose row id is, when ``ident`` is a number.

    More than one means ``ident`` is ambiguous: the caller asks for a scheme.
    """
    row_id = int(ident) if ident.isdigit() and len(ident) < 19 else None  # a bigint has at most 19 digits
    params = {"event_id": ident, "row_id": row_id, "scheme": scheme}
    with conn.cursor(row_factory=class_row(EventDetail)) as cur:
        return [_as_signed(event) for event in cur.execute(sql.query("find_events"), params).fetchall()]


def event_by_row(conn: psycopg.Connection, row_id: int) -> EventDetail | None:
    """The event stored in row ``row_id``, if any."""
    with conn.cursor(row_factory=class_row(EventDetail)) as cur:
        found = cur.execute(sql.query("find_events"), {"event_id": None, "row_id": row_id, "scheme": None}).fetchone()
    return _as_signed(found) if found else None


def _as_signed(event: EventDetail) -> EventDetail:
    """``payload`` parsed from the signed body (what handlers get), where the row has one."""
    return replace(event, payload=json.loads(event.body)) if event.body is not None else event


def history(conn: psycopg.Connection, row_id: int) -> list[Attempt]:
    """Every attempt of the event in row ``row_id``, oldest first."""
    with conn.cursor(row_factory=class_row(Attempt)) as cur:
        return cur.execute(sql.query("event_history"), {"row_id": row_id}).fetchall()


def deliveries(conn: psycopg.Connection, row_id: int) -> list[DeliveryAttempt]:
    """The event's deliveries to each destination and every attempt of each, oldest first."""
    with conn.cursor(row_factory=class_row(DeliveryAttempt)) as cur:
        return cur.execute(sql.query("delivery_history"), {"event_row": row_id}).fetchall()


def destination_states(conn: psycopg.Connection) -> list[DestinationState]:
    """Every destination a forwarder has registered, by name."""
    with conn.cursor(row_factory=class_row(DestinationState)) as cur:
        return cur.execute(sql.query("destination_states")).fetchall()


def resume_destination(conn: psycopg.Connection, name: str) -> int | None:
    """Resume ``name``: how many waiting deliveries are due now; None when there is no such destination."""
    resumed = conn.execute(sql.query("resume_destination"), {"name": name}).fetchone()
    return None if resumed is None else int(resumed[1])


def remove_destination(conn: psycopg.Connection, name: str) -> int | None:
    """Forget ``name`` with its deliveries: how many deliveries went; None when there is no such destination."""
    removed, deliveries = conn.execute(sql.query("remove_destination"), {"name": name}).fetchone() or (0, 0)
    return int(deliveries) if removed else None


def replay_deliveries(
    conn: psycopg.Connection,
    destination: str,
    *,
    by: str,
    event_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int | None:
    """Send one event (``event_id``) or the dead deliveries created in [since, until) to ``destination``
    again; how many are due now, None when the destination is not registered."""
    params = {"destination": destination, "event_id": event_id, "since": since, "until": until, "who": by}
    known, count, _ = conn.execute(sql.query("replay_deliveries"), params).fetchone() or (False, 0, None)
    return int(count) if known else None


def events_per_hour(conn: psycopg.Connection) -> list[tuple[datetime, int, int]]:
    """(hour, events received, failed or dead among them) for the hours of the last day that had any."""
    return conn.execute(sql.query("events_per_hour")).fetchall()


def replay(
    conn: psycopg.Connection,
    *,
    by: str,
    event_ids: Sequence[str] | None = None,
    row_ids: Sequence[int] | None = None,
    where: EventFilter,
    statuses: Sequence[str] | None = None,
) -> ReplayResult:
    """Put events back to ``pending`` with attempts reset, and wake the workers; the history stays,
    marked where the replay began, by ``by`` (who asked: shown in the history).

    ``event_ids`` or ``row_ids`` (any status), or a status (``where.status`` or ``statuses``)
    selects them. Events a worker holds a live lease on are left alone; for ``event_ids`` they
    are reported, as are ids not found.
    """
    if not event_ids and not row_ids and where.status is None and not statuses:
        raise ValueError("replay needs event ids, row ids or a status")
    ids = list(event_ids) if event_ids else None
    params = {
        **where.params(),
        "event_ids": ids,
        "row_ids": list(row_ids) if row_ids else None,
        "statuses": list(statuses) if statuses else None,
        "replayed_by": by,
    }
    leased: list[LeasedEvent] = []
    with conn.transaction():
        rows = conn.execute(sql.query("replay_events"), params).fetchall()
        replayed = [(scheme, event_id) for scheme, event_id in rows]
        if ids is not None:
            # Before the commit: once the NOTIFY is delivered, a worker may claim a replayed
            # event at once, and it would then read as one that was held and left alone.
            with conn.cursor(row_factory=class_row(LeasedEvent)) as cur:
                leased = cur.execute(sql.query("leased_events"), {"event_ids": ids, "scheme": where.scheme}).fetchall()
        if replayed:
            conn.execute(sql.query("notify_workers"))
    if ids is None:
        return ReplayResult(replayed)
    accounted = {event_id for _, event_id in replayed} | {e.event_id for e in leased}
    unknown = [event_id for event_id in dict.fromkeys(ids) if event_id not in accounted]
    return ReplayResult(replayed, leased, unknown)


def stats(
    conn: psycopg.Connection,
    *,
    endpoint: str | None = None,
    exact_count_rows: int = EXACT_COUNT_ROWS,
    sample_rows: int = SAMPLE_ROWS,
) -> Stats:
    """Counts by endpoint (or of one endpoint), the backlog's age, rates and the most skipped types,
    each from an index except done and skipped.

    Those two are counted exactly while the table has at most ``exact_count_rows`` rows; beyond,
    they are estimated from a sample of about ``sample_rows`` and listed in ``Stats.estimated``.
    """
    counts: dict[str, dict[str, int]] = {}
    waits: list[timedelta] = []
    only = {"endpoint": endpoint}
    for name, status, events, pending_for in conn.execute(sql.query("stats_unfinished"), only):
        counts.setdefault(name, {})[status] = events
        if pending_for is not None:
            waits.append(max(pending_for, timedelta(0)))  # a pending event may be due a moment later
    rows = db.only_row(conn.execute(sql.query("estimated_rows")))[0]
    percent = None
    if rows <= exact_count_rows:
        finished = conn.execute(sql.query("stats_finished"), only).fetchall()
    else:
        percent = min(100.0, 100.0 * sample_rows / rows)
        sampled = conn.execute(sql.query("stats_sampled"), {"percent": percent, **only}).fetchall()
        finished = [(name, status, round(events * 100 / percent)) for name, status, events in sampled]
    for name, status, events in finished:
        counts.setdefault(name, {})[status] = events
    last_minute, last_hour = db.only_row(conn.execute(sql.query("stats_processed"), only))
    skipped_since = None if percent is None else datetime.now(UTC) - SKIPPED_TYPES_WINDOW
    with conn.cursor(row_factory=class_row(SkippedType)) as cur:
        params = {"since": skipped_since, "limit": SKIPPED_TYPES_SHOWN, **only}
        skipped = tuple(cur.execute(sql.query("skipped_types"), params))
    estimated = () if percent is None else ("done", "skipped")
    return Stats(counts, max(waits, default=None), last_minute, last_hour, skipped, skipped_since, estimated, percent)
