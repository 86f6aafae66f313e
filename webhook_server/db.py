"""Connections to Postgres, with every wait bounded so a sick database costs a 503, not a hang."""

from __future__ import annotations

import math
from typing import Any

import psycopg


def connection_kwargs(timeout: float) -> dict[str, Any]:
    """Connection parameters that bound each way a query can stall.

    ``statement_timeout`` cuts a statement stuck on a lock; ``tcp_user_timeout`` cuts a
    connection whose host vanished without a reset (ignored on unix sockets); libpq's
    ``connect_timeout`` has a floor of 2 s, and the inbox connects in its writer thread, off the
    request path.
    """
    milliseconds = max(1, int(timeout * 1000))
    return {
        "autocommit": True,
        "application_name": "webhook-server",
        "connect_timeout": max(2, math.ceil(timeout)),
        "tcp_user_timeout": milliseconds,
        "options": f"-c statement_timeout={milliseconds}",
    }


def connect(database_url: str, *, timeout: float = 10.0) -> psycopg.Connection:
    """One connection with every wait bounded: the inbox's writer, the worker, the commands, the tests."""
    return psycopg.connect(database_url, **connection_kwargs(timeout))
