"""How a handler thread calls a handler: plainly, or inside the transaction that records its outcome.

A plain handler is called as ``handler(event)``; the dispatcher records its outcome afterwards,
in a batch, so a crash between the two runs it again (at-least-once). A transactional handler
is called as ``handler(event, conn)`` inside a transaction on the webhook database, and the
thread records ``done`` (``record_outcomes.sql``, with its attempt history entry) in that same
transaction before the one commit. The statement only takes the outcome of a claim that is still
this worker's (same worker, same attempt): when the lease ran out and the event was claimed again,
or the dispatcher already recorded this attempt as timed out, it records nothing and the
transaction rolls back with every write of the handler. A worker killed mid-handler leaves an
open transaction that Postgres rolls back when the connection drops. Either way a retry starts
from a database without the first attempt's writes: the effects happen exactly once.

Each handler thread gets its own runtime, and so its own connection: a thread abandoned after
a timeout keeps its connection to itself until it ends, and never hands it to the next handler.
``webhook_server.contrib.django`` provides the same for Django's connections and ORM; it is
loaded by name, when ``DJANGO_SETTINGS_MODULE`` is set, so Django stays an optional extra.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable

import psycopg

from webhook_server import db
from webhook_server.settings import WorkerSettings
from webhook_server.worker import statements
from webhook_server.worker.handler_pool import Job, Runtime

logger = logging.getLogger(__name__)

DJANGO_INTEGRATION = "webhook_server.contrib.django.worker"
# How long the dispatcher waits to get a timed-out handler's query cancelled.
CANCEL_TIMEOUT_SECONDS = 2.0


class LeaseLost(Exception):
    """The claim of this attempt is no longer this worker's: the transaction was rolled back."""


# Called once per handler thread with the worker's name (the claims' locked_by).
RuntimeFactory = Callable[[str], Runtime]


def load_runtime(settings: WorkerSettings) -> RuntimeFactory:
    """The Django runtime when ``DJANGO_SETTINGS_MODULE`` is set (django.setup() runs here), else the plain one.

    Call it before importing handler modules: they may import Django models.
    """
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        factory: RuntimeFactory = importlib.import_module(DJANGO_INTEGRATION).runtime_factory(settings)
        return factory
    return lambda worker: PsycopgRuntime(settings, worker)


def record_done(conn: psycopg.Connection, job: Job, worker: str) -> None:
    """Record ``done`` for the job inside the caller's transaction; LeaseLost when the claim is gone.

    A plain ``psycopg.Cursor``: the binary array parameters need server-side binding, whatever
    cursor class the connection's owner (Django) made the default.
    """
    recording = statements.record_outcomes(
        [statements.Outcome(job.id, job.event.received_at, job.attempt, "done", "done")], worker
    )
    with psycopg.Cursor(conn) as cursor:
        (recorded,) = cursor.execute(recording.text, recording.params).fetchone() or (0,)
    if not recorded:
        raise LeaseLost(
            f"attempt {job.attempt} of {job.event.scheme} event {job.event.event_id} is no longer this "
            "worker's (timed out, or its lease ran out and another worker claimed it): its writes were rolled back"
        )


class PsycopgRuntime:
    """Transactional handlers get this thread's own connection to the webhook database.

    Connecting is bounded by WEBHOOK_DB_TIMEOUT; its statements by the handler's timeout, and so
    is any time it sits idle inside the transaction: Postgres ends such a session itself, so an
    abandoned handler that hangs between statements cannot hold its locks for ever.
    """

    def __init__(self, settings: WorkerSettings, worker: str) -> None:
        self._settings = settings
        self._worker = worker
        self._conn: psycopg.Connection | None = None

    def run(self, job: Job) -> None:
        if not job.transactional:
            job.handler(job.event)
            return
        conn = self._connection()
        with conn.transaction():
            job.handler(job.event, conn)
            record_done(conn, job, self._worker)

    def cancel(self) -> None:
        conn = self._conn
        if conn is not None and not conn.closed:
            cancel_query(conn)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self.close()
            limit = self._settings.handler_timeout
            kwargs = db.connection_kwargs(
                self._settings.db_timeout, statement_timeout=limit, application_name=f"{db.APPLICATION_NAME} handler"
            )
            kwargs["options"] += f" -c idle_in_transaction_session_timeout={int(limit * 1000)}"
            self._conn = psycopg.connect(self._settings.database_url, **kwargs)
        return self._conn


def cancel_query(conn: psycopg.Connection) -> None:
    """Ask Postgres to cancel the query running on ``conn`` (its transaction then fails); log a failure."""
    try:
        conn.cancel_safe(timeout=CANCEL_TIMEOUT_SECONDS)
    except (psycopg.Error, TimeoutError) as exc:
        logger.warning("could not cancel a timed-out handler's query: %s", exc)
