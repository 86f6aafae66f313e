"""The attempt history a real worker writes: every attempt, each outcome, kept across replays."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Callable

import psycopg

from tests.worker.conftest import (
    WORKER_SCRIPT,
    WorkerProcess,
    count_status,
    events_show,
    insert_events,
    query,
    wait_for,
)


def history(database_url: str, event_id: str) -> list[tuple]:
    """(attempt, outcome, worker, error's first line) of each attempt, oldest first; checks the times."""
    rows = query(
        database_url,
        "SELECT a.attempt, a.outcome, a.worker, split_part(a.error, E'\\n', 1), a.started_at <= a.finished_at "
        "FROM webhook_event_attempts a JOIN webhook_events e ON e.id = a.event_row "
        "WHERE e.event_id = %s ORDER BY a.id",
        event_id,
    )
    assert all(ordered for *_, ordered in rows), rows
    return [tuple(row[:4]) for row in rows]


def worker_name(worker: WorkerProcess) -> str:
    return f"{socket.gethostname()}:{worker.pid}"


def events_show_json(database_url: str, event_id: str) -> dict:
    return json.loads(events_show(database_url, event_id, "--json"))


def test_each_attempt_is_recorded_and_a_replay_adds_to_the_history(
    worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    (event_id,) = insert_events(worker_db, 1, prefix="flaky", fail_attempts=2)
    insert_events(worker_db, 1, scheme="other", prefix="unhandled")
    worker = start_worker(WEBHOOK_WORKER_POLL="0.05")
    wait_for(lambda: count_status(worker_db, "done", "skipped") == 2, 20, "both events finished")
    name = worker_name(worker)
    assert history(worker_db, event_id) == [
        (1, "failed", name, "RuntimeError: planned failure of attempt 1"),
        (2, "failed", name, "RuntimeError: planned failure of attempt 2"),
        (3, "done", name, None),
    ]
    assert history(worker_db, "unhandled_00000") == []  # skipped: no handler ran, no attempt

    replay = subprocess.run(  # as an operator does: the history says who replayed it
        [str(WORKER_SCRIPT), "replay", event_id],
        env={**os.environ, "DATABASE_URL": worker_db, "USER": "alice"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert replay.returncode == 0, replay.stderr
    wait_for(lambda: len(history(worker_db, event_id)) == 7, 20, "the replayed event run again")
    operator = f"alice@{socket.gethostname()} (webhook-server replay)"
    assert history(worker_db, event_id)[3] == (3, "replayed", operator, None)  # where the numbers start again
    assert [row[:2] for row in history(worker_db, event_id)[4:]] == [(1, "failed"), (2, "failed"), (3, "done")]

    shown = events_show_json(worker_db, event_id)
    run = [(1, "failed"), (2, "failed"), (3, "done")]
    assert [(a["attempt"], a["outcome"]) for a in shown["history"]] == [*run, (3, "replayed"), *run]
    assert set(shown["history"][0]) >= {"attempt", "started_at", "finished_at", "outcome", "error"}
    assert shown["history"][0]["error"].startswith("RuntimeError: planned failure of attempt 1\nTraceback")

    query(worker_db, "DELETE FROM webhook_events WHERE event_id = %s RETURNING id", event_id)
    assert query(worker_db, "SELECT count(*) FROM webhook_event_attempts") == [(0,)]  # gone with its event


def test_the_history_goes_with_its_events_deleted_or_truncated(worker_db: str) -> None:
    kept, deleted = insert_events(worker_db, 2)
    query(
        worker_db,
        "INSERT INTO webhook_event_attempts (event_row, event_received_at, attempt, worker, started_at, finished_at, "
        "outcome) SELECT id, received_at, 1, 'host:1', now(), now(), 'done' FROM webhook_events RETURNING 1",
    )
    query(worker_db, "DELETE FROM webhook_events WHERE event_id = %s RETURNING 1", deleted)
    assert [row[0] for row in history(worker_db, kept)] == [1]
    assert query(worker_db, "SELECT count(*) FROM webhook_event_attempts") == [(1,)]
    with psycopg.connect(worker_db, autocommit=True) as conn:
        conn.execute("TRUNCATE webhook_events")
    assert query(worker_db, "SELECT count(*) FROM webhook_event_attempts") == [(0,)]


def test_a_timeout_is_recorded_as_timed_out(worker_db: str, start_worker: Callable[..., WorkerProcess]) -> None:
    (event_id,) = insert_events(worker_db, 1, prefix="slow", sleep=3)
    start_worker(WEBHOOK_HANDLER_TIMEOUT="0.3", WEBHOOK_MAX_ATTEMPTS="1")
    wait_for(lambda: count_status(worker_db, "dead") == 1, 20, "the event dead after its one attempt")
    ((attempt, outcome, _, error),) = history(worker_db, event_id)
    assert (attempt, outcome) == (1, "timed_out")
    assert error.startswith("TimeoutError: the handler ran past WEBHOOK_HANDLER_TIMEOUT=0.3 s")


def test_a_killed_workers_attempt_is_lost_and_a_stopping_workers_queue_given_back(
    worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    insert_events(worker_db, 3, sleep=1.5)
    victim = start_worker(WEBHOOK_WORKER_CONCURRENCY="1", WEBHOOK_WORKER_BATCH="3")
    wait_for(lambda: query(worker_db, "SELECT count(*) FROM worker_runs")[0][0] == 1, 10, "one handler running")
    (running,) = query(worker_db, "SELECT event_id FROM worker_runs")[0]
    victim.kill()  # no outcome, nothing given back: every claim's lease runs out

    stopping = start_worker(WEBHOOK_WORKER_CONCURRENCY="1", WEBHOOK_WORKER_BATCH="3", WEBHOOK_SHUTDOWN_CAP="4")
    wait_for(
        lambda: query(worker_db, "SELECT count(*) FROM worker_runs WHERE pid = %s", stopping.pid)[0][0] == 1,
        10,
        "the second worker running one handler",
    )
    stopping.terminate()
    assert stopping.process.wait(10) == 0

    lost = query(worker_db, "SELECT attempt, worker, error FROM webhook_event_attempts WHERE outcome = 'lost'")
    assert len(lost) == 3  # all three were claimed by the killed worker
    for attempt, worker, error in lost:
        assert (attempt, worker) == (1, worker_name(victim))
        assert error.startswith("attempt 1 got no outcome: worker ")
    outcomes = query(
        worker_db,
        "SELECT outcome, attempt, worker, count(*) FROM webhook_event_attempts "
        "WHERE outcome <> 'lost' GROUP BY 1, 2, 3",
    )
    # The one it ran finished; the two queued behind it went back to the table, their attempt 2 uncounted.
    assert sorted(outcomes) == [("done", 2, worker_name(stopping), 1), ("given_back", 2, worker_name(stopping), 2)]
    assert history(worker_db, running)[0][:2] == (1, "lost")
    assert query(worker_db, "SELECT attempts FROM webhook_events WHERE status = 'pending' GROUP BY 1") == [(1,)]
