"""Connections to Postgres, with every wait bounded so a sick database costs a 503, not a hang."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from webhook_server import sql

# TCP keepalive on every connection: a NAT or firewall that drops idle flows silently would
# otherwise leave a worker's LISTEN waiting on a dead socket for hours, and the first delivery
# after a quiet night waiting on the inbox's dead connection. With these, a peer gone silent is
# found within about a minute of idleness (30 s, then 3 probes 10 s apart).
KEEPALIVE_IDLE_SECONDS = 30
KEEPALIVE_INTERVAL_SECONDS = 10
KEEPALIVE_COUNT = 3
# The synchronous_commit levels at which a commit is acknowledged only once it is flushed, and
# with a synchronous standby only once that standby has it too: any other loses commits.
DURABLE_COMMIT_LEVELS = ("on", "remote_apply")
# Every connection's name in pg_stat_activity; a side connection adds what it is for.
APPLICATION_NAME = "webhook-server"


def only_row(cursor: psycopg.Cursor[Any]) -> Any:
    """The row of a statement that always returns one (an aggregate, a lock function's answer):
    none means its SQL changed, a bug, never a state of the database."""
    row = cursor.fetchone()
    if row is None:
        raise psycopg.ProgrammingError("the statement returned no row, though its SQL always returns one")
    return row


def connection_kwargs(
    timeout: float, statement_timeout: float | None = None, *, application_name: str = APPLICATION_NAME
) -> dict[str, Any]:
    """Connection parameters that bound each way a query can stall; statements get ``timeout``
    too unless ``statement_timeout`` says otherwise. ``application_name`` is what
    ``pg_stat_activity`` shows: the worker names its side connections (``webhook-server pruner``).

    ``statement_timeout`` cuts a statement stuck on a lock; ``synchronous_commit=on`` makes every
    commit wait for its WAL flush whatever the role's or database's default (a 200, or a spool row
    deleted, must follow a durable commit); ``tcp_user_timeout`` cuts a connection whose host
    vanished without a reset while data is unacknowledged, keepalives one that sits idle (both
    ignored on unix sockets); libpq's ``connect_timeout`` has a floor of 2 s, and the inbox
    connects in its writer thread, off the request path.
    """
    milliseconds = _milliseconds(timeout)
    statement_milliseconds = _milliseconds(timeout if statement_timeout is None else statement_timeout)
    return {
        "autocommit": True,
        "application_name": application_name,
        "connect_timeout": max(2, math.ceil(timeout)),
        "tcp_user_timeout": milliseconds,
        "keepalives": 1,
        "keepalives_idle": KEEPALIVE_IDLE_SECONDS,
        "keepalives_interval": KEEPALIVE_INTERVAL_SECONDS,
        "keepalives_count": KEEPALIVE_COUNT,
        "options": f"-c statement_timeout={statement_milliseconds} -c synchronous_commit=on",
    }


def open_pool(database_url: str, *, timeout: float, name: str, size: int = 1, prepare: bool = True) -> ConnectionPool:
    """A pool for this process (the dashboard's), opened without waiting so that start-up never blocks on Postgres.

    ``prepare=False`` turns psycopg's server-side prepared statements off: a query whose filters
    are optional (``%(x)s IS NULL OR …``) then gets a plan for the values given every time, never a
    generic plan that scans because one filter might be NULL.

    Must be called after fork: a connection shared by two processes corrupts both sessions.

    psycopg_pool retries a failed connect in the background with backoff (1 s, 2 s, 4 s, …)
    until ``reconnect_timeout``; only then does the next checkout start a fresh attempt. With
    the default 300 s, a database back after a long outage could wait minutes for the next
    attempt. Half the request's timeout means every waiting request sees an attempt in time.

    Every checkout checks its connection first (an empty query, one round trip): after a
    failover or a restart, the idle connections in the pool are dead, and without the check
    each would fail one page with a 503 before the pool dropped it (measured: the first page
    after a Patroni failover, issue 26).
    """
    kwargs = connection_kwargs(timeout)
    if not prepare:
        kwargs["prepare_threshold"] = None
    pool = ConnectionPool(
        database_url,
        kwargs=kwargs,
        min_size=1,
        max_size=size,
        timeout=timeout,
        reconnect_timeout=timeout / 2,
        check=ConnectionPool.check_connection,
        name=name,
        open=False,
    )
    pool.open(wait=False)
    return pool


def connect(
    database_url: str,
    *,
    timeout: float = 10.0,
    statement_timeout: float | None = None,
    application_name: str = APPLICATION_NAME,
) -> psycopg.Connection:
    """One connection with every wait bounded: the inbox's writer, the worker, the commands, the tests."""
    return psycopg.connect(
        database_url, **connection_kwargs(timeout, statement_timeout, application_name=application_name)
    )


def durability(conn: psycopg.Connection) -> dict[str, str]:
    """``synchronous_commit`` of this session and ``fsync`` of its server: both ``on`` for a
    commit to survive a crash. Read on the connection itself, so a pooler that drops the
    startup options (pgbouncer without them in ``ignore_startup_parameters``) shows here."""
    return dict(conn.execute(sql.query("durability")).fetchall())


@dataclass(frozen=True)
class Replication:
    """What decides whether a failover keeps every acknowledged commit (replication.sql)."""

    standby: bool  # this server is a standby: it refuses writes
    synchronous_standby_names: str  # empty: no commit waits for a standby
    streaming: int  # standbys replicating from this server now
    synchronous: int  # of them, those a commit waits for now
    hidden: int  # of them, those whose state this role may not see (it lacks pg_monitor)


def replication(conn: psycopg.Connection) -> Replication:
    """The replication this server takes part in, as this session sees it."""
    return Replication(*only_row(conn.execute(sql.query("replication"))))


def _milliseconds(seconds: float) -> int:
    return max(1, int(seconds * 1000))
