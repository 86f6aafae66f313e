"""``webhook-server forward``: sends stored events to their destinations, at least once each.

A process of its own beside the worker, so that handlers never wait behind a destination's
network and a destination is scaled, stopped and restarted without them. One dispatcher (the
main thread) owns the database connection and every decision; each destination has its own
sender threads (webhook_server.forwarder.lanes); a listener thread turns Postgres NOTIFYs into
wake-ups. Everything reaches the dispatcher through one queue.

Each round: events stored since the last one are **fanned out** (``take_fan_out.sql`` and
``insert_deliveries.sql`` in one transaction: one delivery per matching destination, exactly
once even with several forwarders), due deliveries are **claimed** for every destination with
idle threads, at most that many each, and the outcomes that came back are **recorded** in one
statement. A claim is a lease longer than any attempt can last (``2 x timeout + 10 s``), so a
forwarder killed mid-attempt leaves the delivery due again when it runs out, recorded as lost.

A failed attempt is retried after ``retry_base`` doubled each time up to ``retry_cap``, ±25 %,
or after the destination's ``Retry-After`` when that is longer; after ``max_attempts`` or once
older than ``max_age`` the delivery is dead (for that destination only). When every attempt to a
destination has failed for ``pause_after`` and at least ``pause_failures`` times, it is paused in
the database: no forwarder claims its deliveries until ``webhook-server destinations resume``,
while fan-out keeps adding them, so nothing is lost.

On SIGTERM it stops claiming, lets running attempts finish until the shutdown cap less a margin,
aborts the rest (recorded as failed, due again at once) and exits 0.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import signal
import socket
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import errors as pg_errors

from webhook_server import db, metrics_endpoint
from webhook_server.forwarder import metrics, statements
from webhook_server.forwarder.http_sender import Result
from webhook_server.forwarder.lanes import Job, Lane, Sent
from webhook_server.forwarder.messages import message_for, response_text
from webhook_server.forwarder.settings import ForwarderSettings
from webhook_server.forwarder.statements import Outcome
from webhook_server.forwarder.transforms import ForwardedEvent
from webhook_server.safe_text import storable
from webhook_server.sql import Statement
from webhook_server.wakeups import WAKE, Backoff, Listener, Stop, receive

logger = logging.getLogger(__name__)

# Time kept from the shutdown cap to abort the attempts still running, record them and exit.
STOP_MARGIN_SECONDS = 1.5
# How long aborted attempts get to report, and then the threads to end (each well within the margin).
ABORT_WAIT = 0.5
JITTER = 0.25
# An attempt's error in the history: the first line is what matters; never a whole page.
MAX_ERROR_CHARS = 2000
# Fan-out batches taken in one round at most, so claims and outcomes are not held back.
FAN_OUT_ROUNDS = 10


@dataclass
class _Streak:
    """A destination's failures since its last delivered attempt, seen by this forwarder."""

    since: float | None = None
    failures: int = 0
    more_due: bool = True  # whether its last claim may have left due deliveries behind
    paused: bool = False
    last_error: str = field(default="", repr=False)


class Forwarder:
    """One forwarder process: a dispatcher, a lane of sender threads per destination, a listener."""

    def __init__(self, settings: ForwarderSettings) -> None:
        self.settings = settings
        self.name = f"{socket.gethostname()}:{os.getpid()} forward"
        self._messages: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lanes = {spec.name: Lane(spec, self._messages) for spec in settings.destinations}
        self._streaks = {name: _Streak() for name in self._lanes}
        self._listener = Listener(
            settings.database_url,
            settings.db_timeout,
            lambda: self._messages.put(WAKE),
            name=f"{db.APPLICATION_NAME} forward listener",
        )
        self._outcomes: list[Outcome] = []
        # Claimed deliveries a stopping forwarder took off its threads' queues: given back once the database takes them.
        self._unstarted: list[Job] = []
        self._conn: psycopg.Connection | None = None
        self._db_retry_at = 0.0
        self._db_backoff = Backoff()
        self._registered = False
        self._fan_out_due = True
        self._next_poll = 0.0
        self._stop_deadline: float | None = None
        self._aborted = False
        self.metrics = metrics.ForwarderMetrics(self._lanes)

    def serve_metrics(self) -> None:
        """Start the Prometheus endpoint when WEBHOOK_FORWARD_METRICS_BIND is set; ConfigError if taken."""
        metrics_endpoint.serve(
            "WEBHOOK_FORWARD_METRICS_BIND", self.settings.metrics_bind, self.metrics, process="forwarder"
        )

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> int:
        """Forward until SIGTERM or SIGINT; return the exit code."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        for lane in self._lanes.values():
            lane.start()
        self._listener.start()
        logger.info(
            "forwarder %s started: %s",
            self.name,
            ", ".join(f"{n} ({lane.spec.concurrency} at once)" for n, lane in self._lanes.items()),
        )
        while self._stop_deadline is None or (self._held() and time.monotonic() < self._stop_deadline + ABORT_WAIT):
            self._receive(self._wait_seconds())
            self.metrics.beat()
            now = time.monotonic()
            for lane in self._lanes.values():
                lane.abort_overdue(now)
            if self._stop_deadline is not None and now >= self._stop_deadline and not self._aborted:
                self._aborted = True
                for lane in self._lanes.values():
                    lane.abort_all()
            self._flush()
            if self._stop_deadline is None:
                self._round(now)
            else:
                self._give_back_unstarted()
        self._flush()
        threads_deadline = time.monotonic() + ABORT_WAIT
        for lane in self._lanes.values():
            lane.stop(threads_deadline)
        if self._conn is not None:
            self._conn.close()
        logger.info("forwarder %s stopped", self.name)
        return 0

    def _held(self) -> int:
        return sum(lane.held for lane in self._lanes.values())

    def _wait_seconds(self) -> float:
        now = time.monotonic()
        database_work = [self._next_poll]
        if self._outcomes or self._unstarted:
            database_work.append(now)
        waiting = [(lane, self._streaks[name].more_due) for name, lane in self._lanes.items()]
        if self._stop_deadline is None and (
            self._fan_out_due or any(more and lane.claimable(now) > 0 for lane, more in waiting)
        ):
            database_work.append(now)
        if self._stop_deadline is None:  # a destination held back by its rate: when it allows the next
            database_work += [t for t in (lane.next_token(now) for lane, more in waiting if more) if t is not None]
        timers = [max(self._db_retry_at, min(database_work))]
        timers += [d for d in (lane.next_deadline() for lane in self._lanes.values()) if d is not None]
        if self._stop_deadline is not None:
            timers.append(self._stop_deadline)
        return max(0.0, min(timers) - now)

    def _receive(self, timeout: float) -> None:
        """Wait up to ``timeout`` for a message, then handle every message already waiting."""
        for message in receive(self._messages, timeout):
            if isinstance(message, Sent):
                self._sent(message)
            elif message is WAKE:
                self._fan_out_due = True
                for streak in self._streaks.values():
                    streak.more_due = True  # a replay or a resume notifies too
            elif isinstance(message, Stop):
                self._begin_stop(message)

    def _on_signal(self, signum: int, frame: object) -> None:
        self._messages.put(Stop(time.monotonic(), immediate=self._stop_deadline is not None))

    def _begin_stop(self, stop: Stop) -> None:
        deadline = stop.at if stop.immediate else stop.at + self.settings.shutdown_cap - STOP_MARGIN_SECONDS
        if self._stop_deadline is None:
            self._listener.stop()
            for lane in self._lanes.values():
                self._unstarted += lane.take_queued()
            logger.info(
                "stopping: no more claims; %s attempts running, %s not started given back",
                self._held() - len(self._unstarted),
                len(self._unstarted),
            )
        self._stop_deadline = deadline if self._stop_deadline is None else min(self._stop_deadline, deadline)

    def _give_back_unstarted(self) -> None:
        """Give the deliveries no thread started back to the table, due now; kept until it takes them."""
        if not self._unstarted:
            return
        jobs = [(job.delivery_id, job.attempt) for job in self._unstarted]
        if self._execute(statements.release_deliveries(jobs, self.name)) is None:
            return
        for job in self._unstarted:
            self._lanes[job.destination].finished()
        self._unstarted = []

    def _round(self, now: float) -> None:
        """Register, fan out, claim, and measure when the poll interval has passed."""
        if now >= self._next_poll:
            self._fan_out_due = True
            for streak in self._streaks.values():
                streak.more_due = True
        if not self._registered:
            if self._execute(statements.register_destinations(list(self._lanes))) is None:
                return
            self._registered = True
        if self._fan_out_due:
            self._fan_out()
        self._claim()
        if now >= self._next_poll and self._measure():
            self._next_poll = now + self.settings.poll_interval

    # -- fan-out ------------------------------------------------------------------------------

    def _fan_out(self) -> None:
        """Turn queued events into deliveries, a batch a transaction, until the queue is empty."""
        for _ in range(FAN_OUT_ROUNDS):
            taken = self._fan_out_batch()
            if taken is None:
                return  # the database failed; retried after the backoff
            if taken < self.settings.fan_out_batch:
                self._fan_out_due = False
                return

    def _fan_out_batch(self) -> int | None:
        specs = [lane.spec for lane in self._lanes.values()]
        taking = statements.take_fan_out(self.settings.fan_out_batch)
        if self._waiting_for_database():
            return None
        try:
            conn = self._connection()
            with conn.transaction():
                taken = conn.execute(taking.text, taking.params).fetchall()
                matches = [
                    (spec.name, row, endpoint)
                    for row, endpoint, event_type in taken
                    for spec in specs
                    if spec.takes(endpoint, event_type)
                ]
                if matches:
                    inserting = statements.insert_deliveries(matches)
                    conn.execute(inserting.text, inserting.params)
        except psycopg.Error as exc:
            self._database_failed("take_fan_out", exc)
            return None
        self._database_ok()
        for name, _, _ in matches:
            self._streaks[name].more_due = True
        return len(taken)

    # -- claims -------------------------------------------------------------------------------

    def _claim(self) -> None:
        now = time.monotonic()
        allowed = {name: lane.claimable(now) for name, lane in self._lanes.items() if self._streaks[name].more_due}
        limits = {name: count for name, count in allowed.items() if count > 0}
        if not limits:
            return
        leases = {name: self._lanes[name].spec.lease_seconds for name in limits}
        ordered = {name for name in limits if self._lanes[name].spec.ordered}
        claimed = self._execute(statements.claim_deliveries(limits, leases, ordered, self.name))
        if claimed is None:
            return
        counts = dict.fromkeys(limits, 0)
        for delivery_id, destination, attempt, age, provider, event_id, event_type, endpoint, body, headers in claimed:
            counts[destination] += 1
            lane = self._lanes[destination]
            message = message_for(lane.spec, provider, event_id, event_type, endpoint, bytes(body), headers)
            event = ForwardedEvent(provider, event_id, event_type, endpoint, headers or {}, bytes(body))
            job = Job(delivery_id, destination, attempt, age, now, message, event)
            if attempt > lane.spec.max_attempts:  # its last attempts were lost (forwarders killed)
                self._record(job, Result(False, 0.0, error="out of attempts: the last ones got no outcome"))
                continue
            lane.submit(job)
        for name, limit in limits.items():
            self._lanes[name].submit_claimed(now, counts[name])
            self._streaks[name].more_due = counts[name] >= limit

    # -- outcomes -----------------------------------------------------------------------------

    def _sent(self, sent: Sent) -> None:
        self._lanes[sent.job.destination].finished()
        self._streaks[sent.job.destination].more_due = True
        self._record(sent.job, sent.result)

    def _record(self, job: Job, result: Result) -> None:
        spec = self._lanes[job.destination].spec
        response = response_text(result.response)
        if result.dropped:
            self._outcomes.append(Outcome(job.delivery_id, job.attempt, "dropped", "dropped", latency=result.latency))
            self.metrics.attempt(job.destination, "dropped", result.latency)
            return
        if result.delivered:
            self._outcomes.append(
                Outcome(job.delivery_id, job.attempt, "delivered", "delivered", result.status, result.latency, response)
            )
            self.metrics.attempt(job.destination, "delivered", result.latency)
            self._streaks[job.destination].since = None
            self._streaks[job.destination].failures = 0
            return
        # What text cannot hold (a NUL in a status line's reason, a lone surrogate) escaped: a
        # refused outcome would be retried for ever and hold back every other one.
        error = storable(result.error or "failed", MAX_ERROR_CHARS)
        if self._aborted:
            error = f"{error} (the forwarder was stopping; due again at once)"
            delay = 0.0
        else:
            delay = retry_delay(job.attempt, base=spec.retry_base, cap=spec.retry_cap)
            if result.retry_after is not None:
                delay = max(delay, result.retry_after)
        age = job.age + (time.monotonic() - job.claimed_at)
        dead = not self._aborted and (job.attempt >= spec.max_attempts or age + delay > spec.max_age)
        status = "dead" if dead else "failed"
        if dead:
            logger.error(
                "destination %s: delivery %s is dead after %s attempts: %s",
                job.destination,
                job.delivery_id,
                job.attempt,
                error,
            )
        else:
            logger.warning(
                "destination %s: delivery %s failed attempt %s of %s, retrying in %.1f s: %s",
                job.destination,
                job.delivery_id,
                job.attempt,
                spec.max_attempts,
                delay,
                error,
            )
        self._outcomes.append(
            Outcome(
                job.delivery_id, job.attempt, status, "failed", result.status, result.latency, response, error, delay
            )
        )
        self.metrics.attempt(job.destination, status, result.latency)
        if not self._aborted:
            self._failed(job.destination, error)

    def _failed(self, destination: str, error: str) -> None:
        """Count the failure in the destination's streak; pause it when the streak is long enough."""
        spec = self._lanes[destination].spec
        streak = self._streaks[destination]
        now = time.monotonic()
        streak.since = now if streak.since is None else streak.since
        streak.failures += 1
        streak.last_error = error
        if spec.pause_after is None or streak.paused:
            return
        if streak.failures >= spec.pause_failures and now - streak.since >= spec.pause_after:
            reason = (
                f"{streak.failures} attempts failed over {now - streak.since:.0f} s "
                f"(pause_after {spec.pause_after:g} s, pause_failures {spec.pause_failures}); last: {error}"
            )[:1000]
            if self._execute(statements.pause_destination(destination, reason)) is not None:
                streak.paused = True
                logger.error(
                    "destination %s paused: %s; `webhook-server destinations resume %s` sends its backlog",
                    destination,
                    reason,
                    destination,
                )

    def _flush(self) -> None:
        if not self._outcomes:
            return
        recorded = self._execute(statements.record_deliveries(self._outcomes, self.name))
        if recorded is None:
            return
        (count,) = db.only_row(recorded)
        if count < len(self._outcomes):
            logger.warning(
                "%s of %s outcomes were not recorded: their lease ran out and another forwarder claimed them",
                len(self._outcomes) - count,
                len(self._outcomes),
            )
        self._outcomes = []

    def _measure(self) -> bool:
        """Read every destination's state: pauses made or lifted elsewhere, backlog, dead count."""
        measured = self._execute(statements.destination_states())
        if measured is None:
            return False
        states = {}
        for name, paused_at, _reason, oldest_due, dead in measured:
            states[name] = metrics.DestinationState(paused_at is not None, oldest_due, dead)
            streak = self._streaks.get(name)
            if streak is not None and streak.paused and paused_at is None:  # resumed
                streak.paused, streak.since, streak.failures = False, None, 0
            elif streak is not None and paused_at is not None:
                streak.paused = True
        self.metrics.states(states)
        return True

    # -- the database ------------------------------------------------------------------------

    def _execute(self, statement: Statement) -> psycopg.Cursor | None:
        """Run a statement; on failure log it, back off, and return None."""
        if self._waiting_for_database():
            return None
        try:
            cursor = self._connection().execute(statement.text, statement.params)
        except psycopg.Error as exc:
            self._database_failed(statement.name, exc)
            return None
        self._database_ok()
        return cursor

    def _waiting_for_database(self) -> bool:
        """Within the backoff after a failed call (a stopping forwarder tries its last writes anyway)."""
        return time.monotonic() < self._db_retry_at and self._stop_deadline is None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            kwargs = db.connection_kwargs(self.settings.db_timeout, application_name=f"{db.APPLICATION_NAME} forward")
            # Unlike ingest's, the forwarder's commits need not wait for the WAL flush: one lost in a
            # Postgres crash is an outcome or a claim made again (the delivery sent once more, with
            # the same webhook-id) or a fan-out taken again (the queue row and its deliveries
            # commit together). Nothing is lost, and a commit is not an fsync per few deliveries.
            kwargs["options"] += " -c synchronous_commit=off"
            self._conn = psycopg.connect(self.settings.database_url, **kwargs)
        return self._conn

    def _database_ok(self) -> None:
        if self._db_backoff.raised:
            logger.info("database is back")
        self._db_backoff.reset()

    def _database_failed(self, query: str, exc: psycopg.Error) -> None:
        problem = str(exc).strip() or type(exc).__name__
        if isinstance(exc, pg_errors.UndefinedTable):
            problem = "the forwarding tables do not exist; run `webhook-server migrate`"
        self._db_retry_at = self._db_backoff.retry_at(query, problem)
        if self._conn is not None and self._conn.broken:
            self._conn.close()  # the next call connects afresh


def retry_delay(failed_attempt: int, *, base: float, cap: float) -> float:
    """``base`` doubled per failed attempt up to ``cap``, spread ±25 % so failures together do not return together."""
    nominal = min(cap, base * 2.0 ** min(failed_attempt - 1, 64))
    return min(cap, nominal * random.uniform(1 - JITTER, 1 + JITTER))
