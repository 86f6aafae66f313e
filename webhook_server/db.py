"""Connections to Postgres, with every wait bounded so a sick database costs a 503, not a hang."""

from __future__ import annotations

import math
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool


def connection_kwargs(timeout: float) -> dict[str, Any]:
    """Connection parameters that bound each way a query can stall.

    ``statement_timeout`` cuts a statement stuck on a lock; ``tcp_user_timeout`` cuts a
    connection whose host vanished without a reset (ignored on unix sockets); libpq's
    ``connect_timeout`` has a floor of 2 s, and connecting happens in the pool's background
    workers, off the request path.
    """
    milliseconds = max(1, int(timeout * 1000))
    return {
        "autocommit": True,
        "application_name": "webhook-server",
        "connect_timeout": max(2, math.ceil(timeout)),
        "tcp_user_timeout": milliseconds,
        "options": f"-c statement_timeout={milliseconds}",
    }


def open_pool(database_url: str, *, timeout: float, name: str, size: int = 1, prepare: bool = True) -> ConnectionPool:
    """A pool for this process, opened without waiting so that start-up never blocks on Postgres.

    ``prepare=False`` turns psycopg's server-side prepared statements off: a query whose filters
    are optional (``%(x)s IS NULL OR …``) then gets a plan for the values given every time, never a
    generic plan that scans because one filter might be NULL.

    Must be called after fork: a connection shared by two processes corrupts both sessions.

    psycopg_pool retries a failed connect in the background with backoff (1 s, 2 s, 4 s, …)
    until ``reconnect_timeout``; only then does the next checkout start a fresh attempt. With
    the default 300 s, a database back after a long outage could wait minutes for the next
    attempt. Half the request's timeout means every waiting request sees an attempt in time.
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
        name=name,
        open=False,
    )
    pool.open(wait=False)
    return pool


def connect(database_url: str, *, timeout: float = 10.0) -> psycopg.Connection:
    """One connection for a command (migrate, send, tests), with the same bounds as the pool's."""
    return psycopg.connect(database_url, **connection_kwargs(timeout))
