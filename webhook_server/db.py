"""Connections to Postgres, with every wait bounded so a sick database costs a 503, not a hang."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from webhook_server import sql
from webhook_server.environment import secret_text
from webhook_server.errors import ConfigError

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
# Whether DATABASE_URL reaches Postgres through a transaction pooler (PgBouncer's
# ``pool_mode = transaction``): then each transaction may run on another server connection.
POOLER_VARIABLE = "WEBHOOK_DB_POOLER"
POOLER_MODES = ("none", "transaction")
# A URL straight to Postgres, for what needs a session of its own behind a transaction pooler.
DIRECT_URL_VARIABLE = "WEBHOOK_DIRECT_DATABASE_URL"
# A streaming replica for what only reads: the dashboard's pages, `events list|show`, `stats`.
READ_URL_VARIABLE = "WEBHOOK_READ_DATABASE_URL"


def pooled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether DATABASE_URL goes through a transaction pooler (WEBHOOK_DB_POOLER=transaction).

    Behind one, a connection's startup ``options`` are refused (PgBouncer 1.18: "unsupported
    startup parameter") or dropped, a session ``SET`` lands on a server connection other clients
    share, and a statement psycopg prepared on one server connection is missing (or already
    there) on the next. So pooled connections send no ``options`` and prepare nothing, and the
    settings the code relies on live on the role (docs/how-to/pgbouncer.md). ConfigError for a
    value other than ``none`` or ``transaction``.
    """
    value = (os.environ if environ is None else environ).get(POOLER_VARIABLE, "none").strip().lower() or "none"
    if value not in POOLER_MODES:
        raise ConfigError(
            POOLER_VARIABLE,
            f"{value!r} is not one of {', '.join(POOLER_MODES)}; set it to transaction when DATABASE_URL goes "
            "through PgBouncer in transaction pooling, or unset it",
        )
    return value == "transaction"


def session_url(database_url: str) -> str:
    """The URL for a connection that needs a session of its own: the worker's LISTEN, ``migrate``'s
    advisory lock, retention's session ``lock_timeout`` around a ``DETACH ... CONCURRENTLY``.

    ``database_url`` itself unless a transaction pooler stands in front of it; then
    WEBHOOK_DIRECT_DATABASE_URL, and ConfigError when that is unset: a LISTEN through the pooler
    hears nothing, and a session lock or setting through it lands on a connection others share.
    Like DATABASE_URL, it may come from a ``_FILE`` or a systemd credential.
    """
    if not pooled():
        return database_url
    direct = secret_text(os.environ, DIRECT_URL_VARIABLE).strip()
    if not direct:
        raise ConfigError(
            DIRECT_URL_VARIABLE,
            f"not set, and {POOLER_VARIABLE}=transaction needs it; set it to a URL straight to Postgres "
            "(not through the pooler) for the worker's LISTEN, migrate and retention",
        )
    return direct


def only_row(cursor: psycopg.Cursor[Any]) -> Any:
    """The row of a statement that always returns one (an aggregate, a lock function's answer):
    none means its SQL changed, a bug, never a state of the database."""
    row = cursor.fetchone()
    if row is None:
        raise psycopg.ProgrammingError("the statement returned no row, though its SQL always returns one")
    return row


def read_url(database_url: str) -> str:
    """The URL for what only reads (WEBHOOK_READ_DATABASE_URL, a streaming replica), else ``database_url``.

    The inbox, the worker, replays and retention stay on the primary: only pages and listings
    that may be a little behind go there, and they show how far (``replica_lag``).
    """
    return secret_text(os.environ, READ_URL_VARIABLE).strip() or database_url


def replica_lag(conn: psycopg.Connection) -> float | None:
    """Seconds this connection's server is behind its primary; None when it is the primary."""
    lag = only_row(conn.execute(sql.query("replica_lag")))[0]
    return None if lag is None else float(lag)


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
    connects in its writer thread, off the request path. Behind a transaction pooler (``pooled``)
    the two settings come from the role instead, and nothing is prepared.
    """
    milliseconds = _milliseconds(timeout)
    statement_milliseconds = _milliseconds(timeout if statement_timeout is None else statement_timeout)
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "application_name": application_name,
        "connect_timeout": max(2, math.ceil(timeout)),
        "tcp_user_timeout": milliseconds,
        "keepalives": 1,
        "keepalives_idle": KEEPALIVE_IDLE_SECONDS,
        "keepalives_interval": KEEPALIVE_INTERVAL_SECONDS,
        "keepalives_count": KEEPALIVE_COUNT,
    }
    if pooled():
        kwargs["prepare_threshold"] = None
    else:
        kwargs["options"] = f"-c statement_timeout={statement_milliseconds} -c synchronous_commit=on"
    return kwargs


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
