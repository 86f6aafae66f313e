"""Handlers for bench/worker.py: no-ops and one-row inserts, plain and transactional; a latency probe.

``insert`` writes its row on a connection of its own (autocommit, as a plain handler would);
``insert_tx`` on the transaction's connection, committed with the outcome. The ``_tx`` handlers
cost what exactly-once costs: a transaction and an outcome statement per event, on the handler
thread, instead of a share of the dispatcher's batched outcome statement.

The latency handler appends ``<event id> <time.time()>`` lines to ``$BENCH_LATENCY_DIR/<pid>``,
one ``write`` each (O_APPEND): cheap, and nothing is buffered if the worker is stopped.
"""

from __future__ import annotations

import os
import threading
import time

import psycopg

from webhook_server.handlers import Event, handles

_log_fd: int | None = None
_local = threading.local()
INSERT = "INSERT INTO bench_effects (event_id) VALUES (%s)"


@handles("bench", "noop")
def noop(event: Event) -> None:
    pass


@handles("bench", "noop_tx", transactional=True)
def noop_tx(event: Event, conn: psycopg.Connection) -> None:
    pass


@handles("bench", "insert")
def insert(event: Event) -> None:
    if getattr(_local, "conn", None) is None:
        _local.conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    _local.conn.execute(INSERT, (event.event_id,))


@handles("bench", "insert_tx", transactional=True)
def insert_tx(event: Event, conn: psycopg.Connection) -> None:
    conn.execute(INSERT, (event.event_id,))


@handles("bench", "latency")
def note_start(event: Event) -> None:
    started = time.time()
    global _log_fd
    if _log_fd is None:
        path = os.path.join(os.environ["BENCH_LATENCY_DIR"], str(os.getpid()))
        _log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.write(_log_fd, f"{event.event_id} {started:.6f}\n".encode())
