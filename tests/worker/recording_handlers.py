"""Handlers for the worker tests: each run is a row in ``worker_runs``, committed as it starts and ends.

The payload each run got is recorded too, as ``json.dumps`` writes it. What a handler does
comes from the event's payload, under ``"test"``: ``sleep`` seconds,
``fail_attempts`` (raise while the attempt number is at most this), ``fail_with`` (raise, with
this text in the exception's message, as handlers put a customer's input in theirs). Scheme ``other`` has no
handler, so its events are skipped.
"""

from __future__ import annotations

import json
import os
import threading
import time

import psycopg

from webhook_server.handlers import Event, handles

_local = threading.local()


def _connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed or conn.broken:  # broken by a database restart: the failed attempt is retried
        conn = _local.conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    return conn


@handles("test", "*")
@handles("stripe", "*")
def record(event: Event) -> None:
    conn = _connection()
    (run_id,) = conn.execute(
        "INSERT INTO worker_runs (event_id, attempt, pid, started_at, payload) "
        "VALUES (%s, %s, %s, clock_timestamp(), %s) RETURNING id",
        (event.event_id, event.attempt, os.getpid(), json.dumps(event.payload)),
    ).fetchone()
    behaviour = event.payload.get("test", {})
    time.sleep(behaviour.get("sleep", 0))
    failed = event.attempt <= behaviour.get("fail_attempts", 0)
    conn.execute("UPDATE worker_runs SET ended_at = clock_timestamp(), failed = %s WHERE id = %s", (failed, run_id))
    if failed:
        raise RuntimeError(f"planned failure of attempt {event.attempt}")
    if "fail_with" in behaviour:
        raise RuntimeError(f"could not open a ticket for {behaviour['fail_with']}")
