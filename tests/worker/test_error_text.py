"""A handler's error carries what the payload held: every outcome is still recorded, the worker still runs.

Postgres' text refuses NUL and UTF-8 cannot encode a lone surrogate, yet both are valid JSON
(``\\u0000``, ``\\ud800``), and handlers routinely put a customer's input in their exceptions.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import psycopg

from tests.worker.conftest import WorkerProcess, count_status, events_show, query, wait_for
from webhook_server import inbox
from webhook_server.handlers import Registry
from webhook_server.inbox import IncomingEvent
from webhook_server.settings import WorkerSettings
from webhook_server.worker.dispatcher import Dispatcher
from webhook_server.worker.statements import Outcome

# What the title was, and what last_error shows of it.
TITLES = {
    "cus_surrogate": ("\ud800 lone", "\\ud800 lone"),
    "cus_nul": ("nul \u0000 inside", "nul \\x00 inside"),
    "cus_escape": ("\x1b]0;owned\x07\x1b[2J", "\x1b]0;owned\x07\x1b[2J"),
}


def store(database_url: str, event_id: str, **behaviour: str) -> None:
    """Store the event as ingest does (the body as signed: jsonb holds neither NUL nor a lone surrogate)."""
    body = json.dumps({"id": event_id, "title": "x", "test": behaviour})
    with psycopg.connect(database_url, autocommit=True) as conn:
        inbox.insert_events(conn, [IncomingEvent("test", event_id, "customer.created", body)])


def test_errors_carrying_nul_surrogates_and_escapes_are_recorded_and_block_nothing(
    worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    for event_id, (title, _) in TITLES.items():
        store(worker_db, event_id, fail_with=title)
    store(worker_db, "cus_healthy_1")
    store(worker_db, "cus_healthy_2")
    # One batch: the five events are claimed together and their outcomes written together.
    worker = start_worker(WEBHOOK_MAX_ATTEMPTS="1", WEBHOOK_WORKER_BATCH="10")

    wait_for(lambda: count_status(worker_db, "done", "dead") == 5, 20, f"every outcome recorded:\n{worker.log()}")
    assert worker.process.poll() is None, worker.log()
    statuses = dict(query(worker_db, "SELECT event_id, status FROM webhook_events"))
    assert statuses == {
        "cus_surrogate": "dead",
        "cus_nul": "dead",
        "cus_escape": "dead",
        "cus_healthy_1": "done",
        "cus_healthy_2": "done",
    }
    for event_id, (_, stored) in TITLES.items():
        ((last_error, history_error),) = query(
            worker_db,
            "SELECT e.last_error, a.error FROM webhook_events e JOIN webhook_event_attempts a ON a.event_row = e.id "
            "WHERE e.event_id = %s",
            event_id,
        )
        assert last_error.startswith(f"RuntimeError: could not open a ticket for {stored}\n"), last_error
        assert history_error == last_error

    # The loop goes on: an event delivered later is handled.
    store(worker_db, "cus_later")
    wait_for(lambda: count_status(worker_db, "done") == 3, 20, f"the later event done:\n{worker.log()}")
    assert "record_outcomes failed" not in worker.log()
    for line in worker.log().splitlines():
        json.loads(line)  # the log lines that quote the errors are still JSON lines


def test_events_show_escapes_control_characters_of_an_error(
    worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    """A terminal obeys the escape sequences it prints: a handler's error must not clear the
    operator's screen or set the window's title."""
    store(worker_db, "cus_escape", fail_with=TITLES["cus_escape"][0])
    start_worker(WEBHOOK_MAX_ATTEMPTS="1")
    wait_for(lambda: count_status(worker_db, "dead") == 1, 20, "the event dead")

    shown = events_show(worker_db, "cus_escape")
    assert "\x1b" not in shown and "\x07" not in shown
    assert "could not open a ticket for \\x1b]0;owned\\x07\\x1b[2J" in shown


def test_an_outcome_postgres_refuses_is_recorded_with_a_stand_in_and_holds_back_none_of_its_batch(
    worker_db: str,
) -> None:
    """Errors come escaped from describe_error; should one still reach the statement unescaped
    (a future path, a refusal of another kind), the batch is written one by one."""
    for event_id in ("cus_before", "cus_nul", "cus_surrogate", "cus_after"):
        store(worker_db, event_id)
    worker = Dispatcher(WorkerSettings(database_url=worker_db, handler_modules=()), Registry(), lambda name: None)
    rows = {
        event_id: (row_id, received_at)
        for event_id, row_id, received_at in query(
            worker_db,
            "UPDATE webhook_events SET attempts = 1, locked_by = %s, locked_until = now() + interval '1 minute', "
            "attempt_started_at = now() RETURNING event_id, id, received_at",
            worker.name,
        )
    }
    worker._outcomes = [
        Outcome(*rows["cus_before"], 1, "done", "done"),
        Outcome(*rows["cus_nul"], 1, "dead", "failed", "RuntimeError: nul \x00 inside"),
        Outcome(*rows["cus_surrogate"], 1, "failed", "failed", "RuntimeError: \ud800", 60.0),
        Outcome(*rows["cus_after"], 1, "done", "done"),
    ]

    worker._flush()

    assert worker._outcomes == []
    recorded = {
        event_id: (status, (error or "").split(" (")[0])
        for event_id, status, error in query(worker_db, "SELECT event_id, status, last_error FROM webhook_events")
    }
    assert recorded == {
        "cus_before": ("done", ""),
        "cus_nul": ("dead", "the attempt's error could not be stored"),
        "cus_surrogate": ("failed", "the attempt's error could not be stored"),
        "cus_after": ("done", ""),
    }
    assert query(worker_db, "SELECT count(*) FROM webhook_event_attempts") == [(4,)]
