"""The ``webhook_events`` table as an inbox: a verified event is committed before its 200.

Requests hand their event to one writer thread per process: a request thread waits for its
commit (``store``), the worker's main loop is called back (``submit``). The writer takes every
event waiting at that moment and stores them with one multi-row statement in autocommit mode:
one round trip and one WAL flush for the whole group (group commit). At low load a group is a
single event and nothing waits for company; under load, the requests that queued during one
commit share the next.

The writer owns one connection, opened in its own thread (never in a request's) and replaced
when it breaks. Every attempt it makes reports to a circuit (webhook_server/circuit.py): once
the database has failed ``failure_threshold`` times in a row, ``store`` raises at once instead of
making each caller wait ``timeout``, and the writer, idle then, probes every ``probe_interval``
seconds with an insert of no rows. The connection the first successful probe opens is the one
the next group commit uses, so a store succeeds as soon as the circuit closes.

A writer can also hang in a commit that no timeout of Postgres' ends: the wait for a
synchronous standby that is gone (a primary left running by a dead Patroni, issue 26), which
``statement_timeout`` does not cover. It then reports nothing, and every delivery would wait its
whole timeout. So a caller whose deadline passes while the writer has been busy with one
attempt for longer than any bounded attempt takes (``STUCK_AFTER_TIMEOUTS`` timeouts) reports a
failure itself; the circuit opens after a few, and deliveries are answered (spooled) at once
until the writer's connection is cut and a probe succeeds. (psycopg_pool
was used before: with one connection it added nothing but a reconnect backoff of 1 s and more,
which would have delayed the first store after an outage past the probe interval.)
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import psycopg
from psycopg import errors as pg_errors

from webhook_server import db, migrations, sql
from webhook_server.circuit import (
    DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_PROBE_INTERVAL,
    Circuit,
    CircuitOpen,
    CircuitState,
)
from webhook_server.errors import DatabaseUnavailable, first_line

logger = logging.getLogger(__name__)

# The most events one statement carries; bounds the statement's size, not the wait.
MAX_BATCH = 500
# A writer busy with one attempt longer than this many timeouts is stuck where Postgres' own
# timeouts do not reach (a statement is cut at one timeout, a connect at about one).
STUCK_AFTER_TIMEOUTS = 2.0
# Give up on closing if the writer has not emptied its queue by then.
CLOSE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class IncomingEvent:
    """A verified event, ready to store. ``payload`` is the request body's text; ``endpoint`` the
    route it came to (None: the scheme's own, stored NULL and read as the scheme);
    ``headers`` the request headers kept with it (schemes/headers.py); ``document`` the jsonb's
    text when the body is not a JSON object (a form, an array: schemes/bodies.py), else None."""

    scheme: str
    event_id: str
    event_type: str
    payload: str
    endpoint: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    document: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.scheme, self.event_id)


class _NoTimeLeft(Exception):
    """The writer ran out of a group's time (its oldest event's deadline); each event's answer
    then says how long that event waited."""

    def __init__(self, what: str, hint: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint


class Pending:
    """One event on its way to a commit, and its outcome once settled.

    Settled once, by whoever comes first: the writer with the commit's outcome, or the caller
    that stops waiting at ``deadline`` (``Inbox.expire``). ``on_settled`` runs right then, in that
    thread: it releases a waiting request thread, or queues the answer for the worker's main loop.
    """

    __slots__ = ("_claim", "_on_settled", "deadline", "duplicate", "error", "event", "queued_at", "settled")

    def __init__(
        self, event: IncomingEvent, queued_at: float, timeout: float, on_settled: Callable[[], object]
    ) -> None:
        self.event = event
        self.queued_at = queued_at
        self.deadline = queued_at + timeout
        self._on_settled = on_settled
        self._claim = threading.Lock()
        self.settled = False
        self.duplicate = False
        self.error: Exception | None = None

    def resolve(self, *, duplicate: bool) -> None:
        if self._claim.acquire(blocking=False):
            self.duplicate = duplicate
            self._settle()

    def fail(self, error: Exception) -> None:
        if self._claim.acquire(blocking=False):
            self.error = error
            self._settle()

    def _settle(self) -> None:
        self.settled = True
        self._on_settled()


_STOP = object()


class Inbox:
    """Stores events durably and tells each caller whether its event was already there."""

    def __init__(
        self,
        database_url: str,
        *,
        timeout: float,
        failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
        probe_interval: float = DEFAULT_PROBE_INTERVAL,
        on_circuit_change: Callable[[CircuitState], None] | None = None,
    ) -> None:
        self.database_url = database_url
        self.timeout = timeout
        self.failure_threshold = failure_threshold
        self.probe_interval = probe_interval
        self._on_circuit_change = on_circuit_change
        self._queue: queue.SimpleQueue[Pending | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._circuit = self._new_circuit()
        self._writer: threading.Thread | None = None
        # The writer's connection: only the writer thread touches it.
        self._conn: psycopg.Connection | None = None
        # When the writer's attempt under way began (monotonic); None between attempts. Written
        # by the writer, read by callers whose deadline passed.
        self._busy_since: float | None = None
        # The process that owns the writer; a forked child must start its own.
        self._owner_pid: int | None = None
        # Failures of submitted events handed on to store() (remember_failure), by event key.
        self._remembered: dict[tuple[str, str], tuple[Exception, float]] = {}

    def _new_circuit(self) -> Circuit:
        return Circuit(
            f"inbox-{os.getpid()}",
            failure_threshold=self.failure_threshold,
            probe_interval=self.probe_interval,
            on_change=self._on_circuit_change,
        )

    def start(self) -> None:
        """Start the writer in this process, once; called lazily after fork. Never waits for Postgres."""
        with self._lock:
            if self._owner_pid == os.getpid():
                return
            self._queue = queue.SimpleQueue()
            self._circuit = self._new_circuit()
            self._conn = None  # a parent's connection is the parent's: closing it here would end its session
            self._writer = threading.Thread(target=self._run_writer, name=f"inbox-writer-{os.getpid()}", daemon=True)
            self._writer.start()
            self._owner_pid = os.getpid()

    def store(self, event: IncomingEvent) -> bool:
        """Commit ``event`` and return True if it was stored before (a redelivery).

        Raises DatabaseUnavailable when the commit did not happen within ``timeout`` seconds,
        and at once (CircuitOpen) while the database is known to be down, or when this event's
        submitted commit just failed (``remember_failure``).
        """
        if self._remembered:
            self._raise_remembered(event)
        signal = threading.Lock()
        signal.acquire()
        pending = self.submit(event, signal.release)
        if not signal.acquire(timeout=self.timeout):
            raise self._gave_up(pending)
        if pending.error is not None:
            raise pending.error
        return pending.duplicate

    def submit(self, event: IncomingEvent, on_settled: Callable[[], object]) -> Pending:
        """Queue ``event`` for the next group commit without waiting: ``on_settled`` is called
        once it is settled, from the writer's thread (or the one calling ``expire``).

        The caller must ``expire`` it at its deadline if nothing settled it by then: a commit
        can hang (a lost network, a lock) past any deadline the writer could enforce. Raises
        CircuitOpen at once while the database is known to be down.
        """
        if self._owner_pid != os.getpid():  # checked without the lock: true once per process
            self.start()
        self._circuit.check()
        pending = Pending(event, time.monotonic(), self.timeout, on_settled)
        self._queue.put(pending)
        return pending

    @property
    def circuit_closed(self) -> bool:
        """False while the database is known to be down: a store would fail at once."""
        return self._circuit.state is CircuitState.CLOSED

    def expire(self, pending: Pending) -> None:
        """Settle ``pending`` as failed if its deadline passed before the writer settled it."""
        if not pending.settled and pending.deadline <= time.monotonic():
            error = self._gave_up(pending)
            pending.fail(error)

    def remember_failure(self, pending: Pending) -> None:
        """Keep a submitted event's failure for the ``store`` of the same event that follows at
        once (the Flask view answering the delivery): it fails with it rather than wait again."""
        if pending.error is not None:
            self._remembered[pending.event.key] = (pending.error, time.monotonic())

    def _raise_remembered(self, event: IncomingEvent) -> None:
        remembered = self._remembered.pop(event.key, None)
        now = time.monotonic()
        for key, (_, at) in list(self._remembered.items()):  # a store that never came: forget it
            if now - at > self.timeout:
                self._remembered.pop(key, None)
        if remembered is not None and now - remembered[1] <= self.timeout:
            raise remembered[0]

    def readiness(self) -> tuple[list[str], dict[str, str]]:
        """The migrations this database lacks and the durability settings, read on a connection
        opened as the writer opens its own (db.connect: this process's URL and session options):
        what ``/ready`` reports to a deploy. Raises DatabaseUnavailable when it cannot connect.
        """
        try:
            with db.connect(self.database_url, timeout=self.timeout) as conn:
                return migrations.missing(conn), db.durability(conn)
        except psycopg.Error as exc:
            raise DatabaseUnavailable(
                f"cannot use the database ({first_line(exc)}); is Postgres up and DATABASE_URL right?"
            ) from None

    def _gave_up(self, pending: Pending) -> DatabaseUnavailable:
        """The error of a caller that stops waiting; reported to the circuit when the writer is stuck."""
        error = self._too_late(pending, _NoTimeLeft("the database did not commit"))
        busy_since = self._busy_since
        if busy_since is not None and time.monotonic() - busy_since > STUCK_AFTER_TIMEOUTS * self.timeout:
            self._circuit.record_failure(error)
        return error

    def _too_late(self, pending: Pending, cause: _NoTimeLeft) -> DatabaseUnavailable:
        """The wait this event really had: less than the timeout for one that joined a group late,
        more when a busy process wakes its request thread late."""
        waited = time.monotonic() - pending.queued_at
        return DatabaseUnavailable(
            f"{cause.what} after {waited:.2f} s (WEBHOOK_DB_TIMEOUT={self.timeout:g} s){cause.hint}"
        )

    def close(self) -> None:
        """Let the writer finish what is queued; it closes its connection as it leaves.

        A writer still busy after ``CLOSE_TIMEOUT_SECONDS`` (a commit stuck on a lock, say) is
        left behind with a warning: its requests get their 503 at their own deadline.
        """
        with self._lock:
            if self._owner_pid != os.getpid():
                return
            self._queue.put(_STOP)
            assert self._writer is not None
            self._writer.join(CLOSE_TIMEOUT_SECONDS)
            if self._writer.is_alive():
                logger.warning(
                    "inbox writer %s did not stop within %.1f s; leaving it behind",
                    self._writer.name,
                    CLOSE_TIMEOUT_SECONDS,
                )
            self._owner_pid = None

    # -- the writer thread -------------------------------------------------------------------

    def _run_writer(self) -> None:
        self._probe()  # connect now, not on the first delivery
        try:
            while self._write_next_batch():
                pass
        finally:
            if self._conn is not None:
                self._conn.close()

    def _probe(self) -> None:
        """An insert of no rows: it needs what a store needs and writes nothing. Reports to the circuit."""
        try:
            self._commit_batch([], deadline=time.monotonic() + self.timeout)
        except (DatabaseUnavailable, _NoTimeLeft):
            pass  # the circuit knows; while it is open, nothing more to say than its transitions
        except Exception:  # the circuit knows too; the writer must outlive any one probe
            logger.exception("inbox probe failed")

    def _write_next_batch(self) -> bool:
        """Commit the events waiting now, or probe when a probe is due; False once told to stop."""
        try:
            first = self._queue.get(timeout=self._circuit.probe_delay())
        except queue.Empty:  # open, and nobody is waiting: time for a probe
            self._probe()
            return True
        if first is _STOP:
            return False
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                self._queue.put(_STOP)  # stop after this batch is committed
                break
            batch.append(item)
        try:
            self._circuit.check()  # queued just before it opened: answered at once too
            self._commit([p for p in batch if isinstance(p, Pending)])
        except Exception as exc:  # the writer must outlive any one batch
            if not isinstance(exc, CircuitOpen):
                logger.exception("inbox writer failed a batch of %s events", len(batch))
            for pending in batch:
                if isinstance(pending, Pending) and not pending.settled:
                    pending.fail(exc)
        return True

    def _commit(self, batch: list[Pending]) -> None:
        now = time.monotonic()
        live = [p for p in batch if p.deadline > now]  # the others were already answered 503
        if not live:
            return
        first_of: dict[tuple[str, str], Pending] = {}
        for pending in live:
            first_of.setdefault(pending.event.key, pending)
        try:
            inserted = self._commit_batch([p.event for p in first_of.values()], deadline=min(p.deadline for p in live))
        except _NoTimeLeft as exc:
            for pending in live:
                pending.fail(self._too_late(pending, exc))
            return
        except DatabaseUnavailable as exc:
            for pending in live:
                pending.fail(exc)
            return
        for pending in live:
            pending.resolve(duplicate=pending is not first_of[pending.event.key] or pending.event.key not in inserted)

    def _commit_batch(self, events: list[IncomingEvent], *, deadline: float) -> set[tuple[str, str]]:
        """Run the insert and tell the circuit how the database did: the one place that does.

        Raises _NoTimeLeft once ``deadline`` (the group's oldest event's) has passed.
        """
        self._busy_since = time.monotonic()
        try:
            inserted = self._insert_retrying_once(events, deadline=deadline)
        except Exception as exc:  # DatabaseUnavailable, _NoTimeLeft, or a surprise: no commit
            self._circuit.record_failure(exc)
            raise
        finally:
            self._busy_since = None
        self._circuit.record_success()
        return inserted

    def _insert_retrying_once(self, events: list[IncomingEvent], *, deadline: float) -> set[tuple[str, str]]:
        """Retry once on a fresh connection if the one held was lost (a database restart breaks it)."""
        retried = False
        while True:
            if deadline - time.monotonic() <= 0:
                raise _NoTimeLeft("the database did not commit")
            reused = self._conn is not None and not self._conn.closed
            try:
                if not reused:
                    self._conn = db.connect(self.database_url, timeout=self.timeout)
                assert self._conn is not None
                return insert_events(self._conn, events)
            except (pg_errors.UndefinedTable, pg_errors.UndefinedColumn):
                raise DatabaseUnavailable(
                    "table webhook_events is missing or not up to date; run `webhook-server migrate`"
                ) from None
            except pg_errors.QueryCanceled:  # statement_timeout: a lock, or a server too busy
                raise _NoTimeLeft("the database did not commit", "; the statement timed out") from None
            except psycopg.OperationalError as exc:
                if not reused:
                    raise DatabaseUnavailable(
                        f"cannot connect to the database ({first_line(exc)}); is Postgres up and DATABASE_URL right?"
                    ) from None
                if retried or self._conn is None or not self._conn.broken:
                    raise DatabaseUnavailable(f"the database failed the insert: {first_line(exc)}") from None
                logger.warning("inbox connection lost, reconnecting: %s", first_line(exc))
                self._conn.close()
                retried = True
            except psycopg.Error as exc:
                raise DatabaseUnavailable(f"the database refused the insert: {first_line(exc)}{_fix(exc)}") from None


def insert_events(conn: psycopg.Connection, events: list[IncomingEvent]) -> set[tuple[str, str]]:
    """Store ``events`` and return the keys stored now; the rest were there already.

    The one idempotent insert of the inbox, shared by ingest and reconcile: an event stored by
    either is a duplicate for the other. Every event is stored, whatever its JSON holds: one
    statement for the batch; when Postgres refuses a payload as jsonb (which fails the whole
    statement), each event again, those it refuses with their body only. ``conn`` must be in
    autocommit mode, so that a refused statement leaves nothing to roll back.
    """
    try:
        return _insert_rows(conn, events, as_jsonb=True)
    except psycopg.Error as exc:
        if not _jsonb_refused(exc):
            raise
    inserted: set[tuple[str, str]] = set()
    for event in events:
        try:
            inserted |= _insert_rows(conn, [event], as_jsonb=True)
        except psycopg.Error as exc:
            if not _jsonb_refused(exc):
                raise
            logger.warning(
                "%s event %s stored without jsonb payload: %s",
                event.scheme,
                event.event_id,
                _refusal(exc),
            )
            inserted |= _insert_rows(conn, [event], as_jsonb=False)
    return inserted


def _insert_rows(conn: psycopg.Connection, events: list[IncomingEvent], *, as_jsonb: bool) -> set[tuple[str, str]]:
    params = {
        "schemes": [e.scheme for e in events],
        "endpoints": [e.endpoint for e in events],
        "event_ids": [e.event_id for e in events],
        "event_types": [e.event_type for e in events],
        "payloads": [e.payload for e in events],
        "documents": [e.document for e in events],
        "headers": [json.dumps(dict(e.headers)) for e in events],
        "as_jsonb": as_jsonb,
    }
    rows = conn.execute(sql.query("insert_events"), params).fetchall()
    return {(scheme, event_id) for scheme, event_id in rows}


def _refusal(exc: psycopg.Error) -> str:
    """Why Postgres refused a payload, without the payload: its DETAIL and CONTEXT quote the
    text around the fault (the offending token, the line up to it), and a body may hold anything."""
    return f"{exc.diag.message_primary or type(exc).__name__} (SQLSTATE {exc.sqlstate})"


def _fix(exc: psycopg.Error) -> str:
    """What to do about a refused insert, when it is ours to say: a day with no partition
    (webhook_server.retention.partitions) means no worker has run for a week."""
    if exc.sqlstate == "23514" and (exc.diag.message_primary or "").startswith("no partition of relation"):
        return "; no partition holds the day: start a worker (every hour it makes the partitions of the week ahead)"
    return ""


def _jsonb_refused(exc: psycopg.Error) -> bool:
    """Postgres could not turn a payload into jsonb: a bad value (class 22: a ``\\u0000`` escape,
    a lone surrogate, a number beyond numeric's range) or a limit (class 54: nesting, size)."""
    return (exc.sqlstate or "")[:2] in ("22", "54")
