"""Transactional handlers: their writes and the event's outcome commit together or not at all."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from tests.harness.polling import wait_for
from tests.worker.conftest import WorkerProcess, count_status, insert_events, query, run_under_kills
from tests.worker.transactional_handlers import insert_effect
from webhook_server import sql
from webhook_server.handlers import Event
from webhook_server.worker.handler_pool import Job
from webhook_server.worker.runtime import LeaseLost, record_done

HANDLERS = {"WEBHOOK_HANDLER_MODULES": "tests.worker.transactional_handlers"}


@pytest.fixture
def effects_db(worker_db: str) -> str:
    """The tests' database with an empty ``worker_effects`` table: no unique key, so duplicates show."""
    with psycopg.connect(worker_db, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS worker_effects")
        conn.execute("CREATE TABLE worker_effects (event_id text NOT NULL, attempt int NOT NULL, pid int NOT NULL)")
    return worker_db


def test_killing_the_worker_repeatedly_leaves_exactly_one_effect_per_event(
    effects_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    ids = insert_events(effects_db, 1000, sleep=0.01)
    kills = run_under_kills(
        effects_db, start_worker, len(ids), WEBHOOK_WORKER_CONCURRENCY="8", WEBHOOK_WORKER_BATCH="50", **HANDLERS
    )

    effects = query(effects_db, "SELECT event_id, count(*) FROM worker_effects GROUP BY 1 HAVING count(*) <> 1")
    assert effects == []
    assert query(effects_db, "SELECT count(DISTINCT event_id) FROM worker_effects") == [(len(ids),)]
    assert count_status(effects_db, "done") == len(ids)
    # Kills did land mid-event: attempts were lost (their leases ran out), and their writes with them.
    (lost,) = query(effects_db, "SELECT count(*) FROM webhook_event_attempts WHERE outcome = 'lost'")[0]
    assert kills >= 3 and lost > 0, (kills, lost)
    # Each done event's one effect is from the attempt that recorded done.
    assert query(
        effects_db,
        "SELECT count(*) FROM worker_effects f JOIN webhook_events e ON e.event_id = f.event_id "
        "WHERE f.attempt <> e.attempts",
    ) == [(0,)]


@pytest.mark.parametrize(
    ("behaviour", "first_outcome"),
    [({"fail_attempts": 1}, "failed"), ({"sleep": 3, "sleep_attempts": 1}, "timed_out")],
    ids=["raised", "timed out"],
)
def test_an_attempt_that_fails_or_times_out_keeps_none_of_its_writes(
    effects_db: str, start_worker: Callable[..., WorkerProcess], behaviour: dict, first_outcome: str
) -> None:
    (event_id,) = insert_events(effects_db, 1, **behaviour)
    start_worker(WEBHOOK_HANDLER_TIMEOUT="1", WEBHOOK_WORKER_POLL="0.05", **HANDLERS)

    wait_for(lambda: count_status(effects_db, "done") == 1, 20, "the event done on its retry")
    assert query(effects_db, "SELECT event_id, attempt FROM worker_effects") == [(event_id, 2)]
    assert query(effects_db, "SELECT attempt, outcome FROM webhook_event_attempts ORDER BY id") == [
        (1, first_outcome),
        (2, "done"),
    ]


def test_plain_and_transactional_handlers_are_told_apart_in_the_start_log(
    effects_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    worker = start_worker(**HANDLERS)
    assert "transactional_handlers.insert_effect (transactional)" in worker.log()


@pytest.mark.parametrize(
    ("worker", "attempt", "kept"),
    [("w1", 1, True), ("w2", 1, False), ("w1", 2, False)],
    ids=["the claim's own", "another worker's", "an older attempt"],
)
def test_the_outcome_commits_only_with_the_claim_that_is_still_its_own(
    effects_db: str, worker: str, attempt: int, kept: bool
) -> None:
    (event_id,) = insert_events(effects_db, 1)
    with psycopg.connect(effects_db, autocommit=True) as conn:
        claim = {"limit": 1, "max_attempts": 3, "lease": 60, "worker": "w1"}
        # attempt 1, held by w1
        ((row_id, _, _, _, _, _, received_at, *_),) = conn.execute(sql.query("claim_events"), claim).fetchall()
        event = Event("test", event_id, "test.event", {}, attempt, received_at, "test", {})
        job = Job(row_id, attempt, event, insert_effect, transactional=True)
        try:
            with conn.transaction():
                insert_effect(event, conn)
                record_done(conn, job, worker)
        except LeaseLost:
            assert not kept

    assert query(effects_db, "SELECT count(*) FROM worker_effects") == [(int(kept),)]
    assert query(effects_db, "SELECT status, locked_by FROM webhook_events") == [
        ("done", None) if kept else ("pending", "w1")
    ]
    assert query(effects_db, "SELECT outcome FROM webhook_event_attempts") == ([("done",)] if kept else [])
