"""The shop's handlers, on the ORM. What they do after their write comes from the payload's ``"test"``.

``sleep`` seconds, only while the attempt is at most ``sleep_attempts`` (if given); ``leave_open``:
start a transaction by hand and return without ending it (the hygiene must roll it back).
"""

from __future__ import annotations

import time

import psycopg
from django.db import connection, transaction

from tests.contrib_django.shop.models import Effect
from webhook_server.handlers import Event, handles


def _behave(event: Event) -> None:
    behaviour = event.payload.get("test", {})
    if event.attempt <= behaviour.get("sleep_attempts", event.attempt):
        time.sleep(behaviour.get("sleep", 0))


@handles("shop", "*", transactional=True)
def record_payment(event: Event, conn: psycopg.Connection) -> None:
    Effect.objects.create(event_id=event.event_id, attempt=event.attempt, backend_pid=conn.info.backend_pid)
    _behave(event)


@handles("orm", "*")
def record(event: Event) -> None:
    if event.payload.get("test", {}).get("leave_open"):
        transaction.set_autocommit(False)
    connection.ensure_connection()
    Effect.objects.create(
        event_id=event.event_id, attempt=event.attempt, backend_pid=connection.connection.info.backend_pid
    )
    _behave(event)
