"""The worker's side: ``django.setup()``, Django's connection hygiene around each handler, atomic handlers.

Loaded by name by ``webhook_server.worker.runtime.load_runtime`` when ``DJANGO_SETTINGS_MODULE``
is set, before the handler modules are imported (they import models).

Each handler thread has its own Django connections (Django keeps them per thread). Around each
handler the thread does what Django does around a request: ``close_old_connections()`` before and
after, which closes a connection past ``CONN_MAX_AGE``, one that broke, or one a handler left in
a transaction. A thread abandoned after a timeout keeps its connections to itself, so they never
reach the next handler, and closes them when its handler finally returns.

A transactional handler runs inside ``transaction.atomic()`` on the database that holds the
webhook tables, called as ``handler(event, conn)`` with the psycopg connection under Django's;
the ORM and ``conn`` share the transaction, and the event's outcome is written in it before the
one commit (see webhook_server.worker.runtime).
"""

from __future__ import annotations

import logging

import django
import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, close_old_connections, connections, transaction

from webhook_server import db
from webhook_server.contrib.django.database import SETTING, database_alias
from webhook_server.errors import ConfigError
from webhook_server.settings import WorkerSettings
from webhook_server.worker.handler_pool import Job
from webhook_server.worker.runtime import RuntimeFactory, cancel_query, record_done

logger = logging.getLogger(__name__)

# Identifies a Postgres server and database without superuser rights: no two servers share a start time.
_IDENTITY = "SELECT current_database(), pg_postmaster_start_time()"


def runtime_factory(settings: WorkerSettings) -> RuntimeFactory:
    """Set Django up and check that its webhook database is DATABASE_URL's; ConfigError says what to fix."""
    try:
        django.setup()
        alias = database_alias()
    except (ImproperlyConfigured, ImportError) as exc:
        raise ConfigError("DJANGO_SETTINGS_MODULE", f"django.setup() failed: {exc}") from exc
    _check_same_database(settings, alias)
    return lambda worker: DjangoRuntime(settings, alias, worker)


def _check_same_database(settings: WorkerSettings, alias: str) -> None:
    """The outcome can only join the handler's transaction if both are on one database."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(_IDENTITY)
            django_side = cursor.fetchone()
        with db.connect(settings.database_url, timeout=settings.db_timeout) as conn:
            worker_side = db.only_row(conn.execute(_IDENTITY))
    except (DatabaseError, psycopg.Error) as exc:
        logger.warning("could not check that Django's %r database is DATABASE_URL's (retried on use): %s", alias, exc)
        return
    finally:
        connections.close_all()  # the main thread runs no handler: it keeps no connection
    if django_side != worker_side:
        raise ConfigError(
            SETTING,
            f"Django's database {alias!r} is not the one DATABASE_URL names ({django_side[0]!r} vs "
            f"{worker_side[0]!r}, or another server); point DATABASES[{alias!r}] (or {SETTING}) at the "
            "Postgres database that holds webhook_events",
        )


class DjangoRuntime:
    """One handler thread's Django side; see the module's docstring."""

    def __init__(self, settings: WorkerSettings, alias: str, worker: str) -> None:
        self._alias = alias
        self._worker = worker
        # Postgres ends the session of a transaction left idle this long (a handler abandoned mid-sleep).
        self._idle_limit = f"{int(settings.handler_timeout * 1000)}ms"
        self._running: psycopg.Connection | None = None

    def run(self, job: Job) -> None:
        close_old_connections()
        try:
            if not job.transactional:
                job.handler(job.event)
                return
            with transaction.atomic(using=self._alias):
                conn = self._running = connections[self._alias].connection
                conn.execute("SELECT set_config('idle_in_transaction_session_timeout', %s, true)", (self._idle_limit,))
                job.handler(job.event, conn)
                record_done(conn, job, self._worker)
        finally:
            self._running = None
            close_old_connections()

    def cancel(self) -> None:
        conn = self._running
        if conn is not None and not conn.closed:
            cancel_query(conn)

    def close(self) -> None:
        connections.close_all()
