"""``webhook-server worker``: claims stored events and runs their handlers, at least once each.

One dispatcher (the main thread) owns the database connection and all bookkeeping; handler
threads (webhook_server.worker.handler_pool) only run handlers; a listener thread turns Postgres
NOTIFYs into wake-ups. Everything reaches the dispatcher through one queue, so it sleeps in a
single place and wakes for a notify, a finished handler, a signal or its next timer.

A claim is a lease (``claim_events.sql``): rows are taken in batches with ``FOR UPDATE SKIP
LOCKED``, so workers on any number of hosts share the table, and the lease is renewed while the
worker holds the event. A worker killed with ``kill -9`` renews nothing; its events are due
again when the lease runs out. Outcomes are written in batches too (``record_outcomes.sql``),
one statement for every result that arrived meanwhile: at low load that is one event, under
load a few hundred. The exception is a transactional handler's ``done``: its thread commits it
with the handler's writes (webhook_server.worker.runtime), and the dispatcher only forgets the event.

On SIGTERM it stops claiming, gives back the events no thread has started, lets running
handlers finish until the shutdown cap (less a margin to write and exit), gives back the rest
and exits 0. A database outage is logged and retried with backoff; it never stops the worker.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import time
from dataclasses import replace

import psycopg
from psycopg import errors as pg_errors

from webhook_server import db, metrics_endpoint
from webhook_server.errors import EXIT_STUCK
from webhook_server.handlers import Event, Registry
from webhook_server.schemes.bodies import as_object
from webhook_server.settings import WorkerSettings
from webhook_server.sql import Statement
from webhook_server.wakeups import WAKE, Backoff, Listener, Stop, receive
from webhook_server.worker import metrics, statements
from webhook_server.worker.handler_pool import Finished, HandlerPool, Job
from webhook_server.worker.pruner import Pruner
from webhook_server.worker.retries import describe_error, retry_delay
from webhook_server.worker.runtime import LeaseLost, RuntimeFactory
from webhook_server.worker.statements import Outcome

logger = logging.getLogger(__name__)

# Time kept from the shutdown cap to give events back and exit after the last handler: a flush
# under way at the deadline, then the last flush and the release, each cut at the statement limit.
STOP_MARGIN_SECONDS = 1.5
STOP_STATEMENT_SECONDS = 0.4


class _Refused(Exception):
    """Postgres refused a statement's values (or they could not be sent): not the database's fault,
    so retrying the same values would fail forever."""


class Dispatcher:
    """One worker process: a dispatcher, its handler threads and a NOTIFY listener."""

    def __init__(self, settings: WorkerSettings, registry: Registry, runtime: RuntimeFactory) -> None:
        self.settings = settings
        self.registry = registry
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._messages: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._pool = HandlerPool(
            settings.concurrency, settings.handler_timeout, self._messages, lambda: runtime(self.name)
        )
        self._listener = Listener(
            settings.database_url,
            settings.db_timeout,
            lambda: self._messages.put(WAKE),
            name=f"{db.APPLICATION_NAME} listener",
        )
        self._pruner = Pruner(settings)
        # Every event this worker has claimed and not yet recorded or given back, by row id.
        self._held: dict[int, Job] = {}
        # Held events the stop took off the threads' queue: given back once the database takes them.
        self._unstarted: list[Job] = []
        # Outcomes waiting to be written, in the order they arrived.
        self._outcomes: list[Outcome] = []
        self._conn: psycopg.Connection | None = None
        self._db_retry_at = 0.0
        self._db_backoff = Backoff()
        self._due = True  # claim at start: events may have arrived while no worker ran
        self._next_poll = 0.0
        self._next_renewal = 0.0
        self._stop_deadline: float | None = None
        self.metrics = metrics.WorkerMetrics(registry.schemes())
        self._next_backlog_check: float | None = None  # None: no metrics endpoint, nobody reads it

    def serve_metrics(self) -> None:
        """Start the Prometheus endpoint when WEBHOOK_WORKER_METRICS_BIND is set; ConfigError if taken."""
        if metrics_endpoint.serve(
            "WEBHOOK_WORKER_METRICS_BIND", self.settings.metrics_bind, self.metrics, process="worker"
        ):
            self._next_backlog_check = 0.0

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> int:
        """Process events until SIGTERM or SIGINT; return the exit code."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self._pool.start()
        self._listener.start()
        self._pruner.start()
        logger.info(
            "worker %s started: %s handlers, %s threads, batches of %s",
            self.name,
            len(self.registry),
            self.settings.concurrency,
            self.settings.batch_size,
            extra={"handlers": self.registry.describe()},
        )
        exit_code = 0
        while self._stop_deadline is None or (self._held and time.monotonic() < self._stop_deadline):
            self._receive(self._wait_seconds())
            self.metrics.beat()
            now = time.monotonic()
            for job in self._pool.expire(now):
                self._timed_out(job)
            if self._pool.stuck() > self.settings.concurrency:  # more abandoned threads than live ones
                logger.error(
                    "%s handler threads are stuck past WEBHOOK_HANDLER_TIMEOUT=%s s; exiting for a clean restart",
                    self._pool.stuck(),
                    self.settings.handler_timeout,
                )
                exit_code = EXIT_STUCK
                break
            self._flush()
            if self._stop_deadline is None:
                self._renew_leases(now)
                self._claim(now)
                self._measure_backlog(now)
            else:
                self._give_back_unstarted()
        self._shut_down()
        return exit_code

    def _wait_seconds(self) -> float:
        """How long the dispatcher may sleep: until its next timer, or not at all.

        Timers that need the database wait for the end of its backoff too, so an outage is
        never a busy loop.
        """
        now = time.monotonic()
        database_work = [now + self.settings.poll_interval]
        if self._outcomes or self._unstarted:
            database_work.append(now)
        if self._stop_deadline is None:
            database_work.append(self._next_poll)
            if self._due and self._has_room():
                database_work.append(now)
            if self._held:
                database_work.append(self._next_renewal)
        timers = [max(self._db_retry_at, min(database_work))]
        if self._stop_deadline is not None:
            timers.append(self._stop_deadline)
        expiry = self._pool.next_expiry()
        if expiry is not None:
            timers.append(expiry)
        return max(0.0, min(timers) - now)

    def _receive(self, timeout: float) -> None:
        """Wait up to ``timeout`` for a message, then handle every message already waiting."""
        for message in receive(self._messages, timeout):
            if isinstance(message, Finished):
                self._finished(message)
            elif message is WAKE:
                self._due = True
            elif isinstance(message, Stop):
                self._begin_stop(message)

    def _on_signal(self, signum: int, frame: object) -> None:
        # SimpleQueue.put is safe in a signal handler; everything else happens in the loop.
        self._messages.put(Stop(time.monotonic(), immediate=self._stop_deadline is not None))

    # -- outcomes ----------------------------------------------------------------------------

    def _finished(self, finished: Finished) -> None:
        job = finished.job
        if self._held.pop(job.id, None) is not job:
            return  # given back or timed out before it finished
        if finished.error is None:
            if not job.transactional:  # a transactional handler's thread committed done with its writes
                self._outcomes.append(Outcome(job.id, job.event.received_at, job.attempt, "done", "done"))
            self.metrics.outcome(job.event.scheme, "done")
        elif isinstance(finished.error, LeaseLost):
            logger.warning("%s", finished.error)
        else:
            self._failed(job, describe_error(finished.error), "failed")

    def _timed_out(self, job: Job) -> None:
        if self._held.pop(job.id, None) is job:
            self._failed(
                job,
                f"TimeoutError: the handler ran past WEBHOOK_HANDLER_TIMEOUT={self.settings.handler_timeout:g} s; "
                "its thread was abandoned",
                "timed_out",
            )

    def _failed(self, job: Job, error: str, result: str) -> None:
        event = job.event
        if job.attempt >= self.settings.max_attempts:
            logger.error(
                "%s event %s (%s) is dead after %s attempts: %s",
                event.scheme,
                event.event_id,
                event.type,
                job.attempt,
                error.splitlines()[0],
            )
            self._outcomes.append(Outcome(job.id, job.event.received_at, job.attempt, "dead", result, error))
            self.metrics.outcome(event.scheme, "dead")
            return
        delay = retry_delay(job.attempt, base=self.settings.retry_base, cap=self.settings.retry_cap)
        logger.warning(
            "%s event %s (%s) failed attempt %s of %s, retrying in %.1f s: %s",
            event.scheme,
            event.event_id,
            event.type,
            job.attempt,
            self.settings.max_attempts,
            delay,
            error.splitlines()[0],
        )
        self._outcomes.append(Outcome(job.id, job.event.received_at, job.attempt, "failed", result, error, delay))
        self.metrics.outcome(event.scheme, "failed")

    def _flush(self) -> None:
        """Write every outcome gathered so far in one statement; keep them if the database is down.

        If Postgres refuses the statement's values, no retry of the same statement can succeed,
        and every later outcome would queue behind it: the outcomes are written one by one
        instead, so that the one it refuses cannot hold back the rest.
        """
        outcomes = self._outcomes
        if not outcomes:
            return
        try:
            count = self._record(outcomes)
        except _Refused as exc:
            logger.warning(
                "record_outcomes refused a batch of %s outcomes (%s); writing them one by one", len(outcomes), exc
            )
            count = self._record_each(outcomes)
        if count is None:
            return
        if count < len(outcomes):
            logger.warning(
                "%s of %s outcomes were not recorded: their lease ran out and another worker claimed them",
                len(outcomes) - count,
                len(outcomes),
            )
        self._outcomes = []

    def _record(self, outcomes: list[Outcome]) -> int | None:
        """How many rows ``record_outcomes`` updated; None when the database failed (retried later)."""
        recorded = self._execute(statements.record_outcomes(outcomes, self.name), refusable=True)
        if recorded is None:
            return None
        (count,) = db.only_row(recorded)  # record_outcomes.sql ends with a count of the rows it updated
        return int(count)

    def _record_each(self, outcomes: list[Outcome]) -> int | None:
        """Write ``outcomes`` one statement each; one Postgres refuses gets a stand-in error text.

        Returns None, leaving the unwritten ones for the next flush, when the database fails.
        """
        count = 0
        for position, outcome in enumerate(outcomes):
            try:
                written = self._record([outcome])
            except _Refused as exc:
                written = self._record_stand_in(outcome, exc)
            if written is None:
                self._outcomes = outcomes[position:]
                return None
            count += written
        return count

    def _record_stand_in(self, outcome: Outcome, refused: _Refused) -> int | None:
        """The outcome with an error text of ours in place of the one Postgres refused."""
        logger.error(
            "event row %s: its outcome was refused (%s); recording it with a stand-in error",
            outcome.row_id,
            refused,
        )
        error = f"the attempt's error could not be stored ({refused}); the worker's log has its first line"
        try:
            return self._record([replace(outcome, error=error)])
        except _Refused as exc:  # not the error text then: the lease runs out and the attempt counts as lost
            logger.error(
                "event row %s: its outcome cannot be recorded (%s); leaving it to its lease", outcome.row_id, exc
            )
            return 0

    # -- claims and leases -------------------------------------------------------------------

    def _has_room(self) -> bool:
        return self._room() >= max(1, self.settings.batch_size // 2)

    def _room(self) -> int:
        """How many more events to hold: a batch beyond what the threads are running."""
        return self.settings.batch_size + self.settings.concurrency - len(self._held)

    def _claim(self, now: float) -> None:
        if now >= self._next_poll:
            self._due = True
        if not (self._due and self._has_room()):
            return
        limit = min(self.settings.batch_size, self._room())
        claimed = self._execute(
            statements.claim_events(
                limit=limit,
                max_attempts=self.settings.max_attempts,
                lease_seconds=self.settings.lease_seconds,
                worker=self.name,
            )
        )
        if claimed is None:
            return
        rows = claimed.fetchall()
        self._due = len(rows) == limit  # a full batch: more may be waiting
        self._next_poll = now + self.settings.poll_interval
        if not self._held:
            self._next_renewal = now + self.settings.lease_seconds / 3
        lookup = self.registry.lookup
        for row_id, scheme, event_id, event_type, body, attempt, received_at, status, endpoint, headers in rows:
            if status == "dead":
                logger.error(
                    "%s event %s (%s) is dead: its last attempt's worker died without an outcome",
                    scheme,
                    event_id,
                    event_type,
                )
                self.metrics.outcome(scheme, "dead")
                continue
            registered = lookup(scheme, event_type, endpoint)
            if registered is None:
                self._outcomes.append(Outcome(row_id, received_at, attempt, "skipped", None))
                self._skipped(scheme, event_type)
                continue
            event = Event(scheme, event_id, event_type, as_object(body), attempt, received_at, endpoint, headers)
            job = Job(row_id, attempt, event, registered.function, registered.transactional)
            self._held[row_id] = job
            self._pool.submit(job)

    def _skipped(self, scheme: str, event_type: str) -> None:
        """Count it; log the first of each type, so that a worker that lacks a handler (an old
        version during a rollout, a module left out) says so once, not once per event."""
        if self.metrics.skipped(scheme, event_type):
            logger.warning(
                "%s events of type %s are skipped: no handler in %s takes them "
                "(an older worker during a rollout? `webhook-server replay --status skipped` runs them later)",
                scheme,
                event_type,
                ", ".join(self.settings.handler_modules),
                extra={"scheme": scheme, "event_type": event_type},
            )

    def _measure_backlog(self, now: float) -> None:
        """For the metrics endpoint: the oldest due event's wait, at most once a poll interval."""
        if self._next_backlog_check is None or now < self._next_backlog_check:
            return
        measured = self._execute(statements.oldest_due())
        if measured is not None:
            self.metrics.oldest_due(db.only_row(measured)[0])
            self._next_backlog_check = now + self.settings.poll_interval

    def _renew_leases(self, now: float) -> None:
        if not self._held or now < self._next_renewal:
            return
        renewed = self._execute(
            statements.renew_leases(
                [job.row for job in self._held.values()], lease_seconds=self.settings.lease_seconds, worker=self.name
            )
        )
        if renewed is not None:
            self._next_renewal = now + self.settings.lease_seconds / 3

    def _release(self, jobs: list[Job]) -> bool:
        """Give ``jobs`` back to the table: due now, their attempt not counted.

        They stay held until the statement succeeds, so a failure leaves them to the next try.
        """
        if not jobs:
            return True
        released = statements.release_events([j.row for j in jobs], [j.attempt for j in jobs], self.name)
        if self._execute(released) is None:
            return False
        for job in jobs:
            self._held.pop(job.id, None)
        logger.info("gave back %s events for other workers", len(jobs))
        return True

    def _give_back_unstarted(self) -> None:
        if self._unstarted and self._release(self._unstarted):
            self._unstarted = []

    # -- stopping ----------------------------------------------------------------------------

    def _begin_stop(self, stop: Stop) -> None:
        deadline = stop.at if stop.immediate else stop.at + self.settings.shutdown_cap - STOP_MARGIN_SECONDS
        if self._stop_deadline is not None:
            self._stop_deadline = min(self._stop_deadline, deadline)
            return
        self._stop_deadline = deadline
        self._pruner.stop()
        logger.info("stopping: no more claims; %s events held", len(self._held))
        # From now on a statement must not outlast the margin kept for the last writes. Not behind a
        # transaction pooler: the session setting would stay on a server connection other clients share.
        if self._conn is not None and not self._conn.closed and not db.pooled():
            self._execute(statements.limit_statement_time(STOP_STATEMENT_SECONDS))
        self._listener.stop()
        self._unstarted = self._pool.take_queued()
        self._pool.stop()
        self._flush()
        self._give_back_unstarted()

    def _shut_down(self) -> None:
        if self._stop_deadline is None:  # leaving because handlers are stuck
            self._stop_deadline = time.monotonic()
            self._listener.stop()
            self._pruner.stop()
            self._pool.take_queued()  # no thread starts them; they are held, given back below
        self._flush()
        self._release(list(self._held.values()))
        if self._conn is not None:
            self._conn.close()
        logger.info("worker %s stopped", self.name)

    # -- the database ------------------------------------------------------------------------

    def _execute(self, statement: Statement, *, refusable: bool = False) -> psycopg.Cursor | None:
        """Run a statement; on failure log it, back off, and return None.

        With ``refusable``, values that Postgres refuses (a data error) or that cannot be
        encoded raise _Refused instead: the caller decides what to write in their place. Without
        it they fail like any other statement, as before (a DataError is a psycopg.Error).

        Once stopping, every write is tried at once whatever the backoff: the last outcomes and
        give-backs are worth one more try, and waiting would only let the cap run out. The
        dispatcher's sleep still honours the backoff, so a stop during an outage does not spin.
        """
        now = time.monotonic()
        if now < self._db_retry_at and self._stop_deadline is None:
            return None
        try:
            if self._conn is None or self._conn.closed:
                if self._stop_deadline is not None and self._stop_deadline - now < _connect_seconds(self.settings):
                    # No time left to connect within the cap; the leases will run out. Nothing
                    # to wake up for but handlers finishing and the deadline.
                    self._db_retry_at = max(self._db_retry_at, self._stop_deadline)
                    return None
                self._conn = self._connect()
            cursor = self._conn.execute(statement.text, statement.params)
        except (psycopg.DataError, UnicodeEncodeError) as exc:
            if refusable:
                raise _Refused(_error_class(exc)) from exc
            self._database_failed(statement.name, str(exc).strip() or type(exc).__name__)
            return None
        except pg_errors.UndefinedTable:
            self._database_failed(statement.name, "table webhook_events does not exist; run `webhook-server migrate`")
            return None
        except psycopg.Error as exc:
            self._database_failed(statement.name, str(exc).strip() or type(exc).__name__)
            return None
        if self._db_backoff.raised:
            logger.info("database is back")
        self._db_backoff.reset()
        return cursor

    def _connect(self) -> psycopg.Connection:
        """A connection for the dispatcher; one made during the stop gets the stop's statement limit."""
        stopping = self._stop_deadline is not None
        return db.connect(
            self.settings.database_url,
            timeout=self.settings.db_timeout,
            statement_timeout=STOP_STATEMENT_SECONDS if stopping else None,
        )

    def _database_failed(self, query: str, problem: str) -> None:
        self._db_retry_at = self._db_backoff.retry_at(query, problem)
        if self._conn is not None and self._conn.broken:
            self._conn.close()  # the next call connects afresh


def _error_class(exc: Exception) -> str:
    """An error's kind without its text: Postgres' message quotes the value it refused."""
    sqlstate = getattr(exc, "sqlstate", None)
    return f"{type(exc).__name__} {sqlstate}" if sqlstate else type(exc).__name__


def _connect_seconds(settings: WorkerSettings) -> float:
    """The longest a connection attempt takes (libpq's connect_timeout has a floor of 2 s)."""
    return float(db.connection_kwargs(settings.db_timeout)["connect_timeout"])
