"""Transactional handlers for the worker tests: each attempt inserts one ``worker_effects`` row in its transaction.

What a handler does after its insert comes from the event's payload, under ``"test"``: ``sleep``
seconds, ``sleep_attempts`` (sleep only while the attempt number is at most this),
``fail_attempts`` (raise while the attempt number is at most this). ``worker_effects`` has no
unique key, so an attempt whose writes were kept when they should not have been shows up as a
second row.
"""

from __future__ import annotations

import os
import time

import psycopg

from webhook_server.handlers import Event, handles


@handles("test", "*", transactional=True)
def insert_effect(event: Event, conn: psycopg.Connection) -> None:
    conn.execute(
        "INSERT INTO worker_effects (event_id, attempt, pid) VALUES (%s, %s, %s)",
        (event.event_id, event.attempt, os.getpid()),
    )
    behaviour = event.payload.get("test", {})
    if event.attempt <= behaviour.get("sleep_attempts", event.attempt):
        time.sleep(behaviour.get("sleep", 0))
    if event.attempt <= behaviour.get("fail_attempts", 0):
        raise RuntimeError(f"planned failure of attempt {event.attempt}, after its insert")
