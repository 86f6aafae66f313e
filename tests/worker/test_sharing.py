"""Several workers on one table: no event runs twice at once, none is lost when a worker is killed."""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Callable

from tests.harness.polling import wait_for
from tests.worker.conftest import WorkerProcess, count_status, insert_events, query


def test_two_workers_never_run_the_same_event_and_together_run_every_event_once(
    worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    first = start_worker(WEBHOOK_WORKER_CONCURRENCY="4", WEBHOOK_WORKER_BATCH="10")
    second = start_worker(WEBHOOK_WORKER_CONCURRENCY="4", WEBHOOK_WORKER_BATCH="10")
    events = insert_events(worker_db, 400, sleep=0.01)

    wait_for(lambda: count_status(worker_db, "done") == 400, 60, "every event done")
    runs = query(worker_db, "SELECT event_id, pid FROM worker_runs")
    assert Counter(event_id for event_id, _ in runs) == Counter(events)  # once each, so never twice at once
    by_worker = Counter(pid for _, pid in runs)
    assert set(by_worker) == {first.pid, second.pid}, by_worker  # both took part
    assert query(worker_db, "SELECT count(*) FROM webhook_events WHERE attempts <> 1") == [(0,)]


def test_a_worker_killed_mid_batch_loses_nothing(worker_db: str, start_worker: Callable[..., WorkerProcess]) -> None:
    events = insert_events(worker_db, 30, sleep=0.4)
    victim = start_worker(WEBHOOK_WORKER_CONCURRENCY="3", WEBHOOK_WORKER_BATCH="10", WEBHOOK_LEASE_SECONDS="2")
    wait_for(
        lambda: query(worker_db, "SELECT count(*) FROM worker_runs WHERE ended_at IS NULL")[0][0] == 3,
        10,
        "three handlers running",
    )
    victim.kill()  # SIGKILL: no outcome written, nothing given back
    killed_at = time.time()
    interrupted = {
        event_id for (event_id,) in query(worker_db, "SELECT event_id FROM worker_runs WHERE ended_at IS NULL")
    }
    held = {
        event_id
        for (event_id,) in query(
            worker_db,
            "SELECT event_id FROM webhook_events WHERE locked_by = %s",
            f"{socket.gethostname()}:{victim.pid}",
        )
    }
    assert len(interrupted) == 3 and interrupted < held  # running ones, and claimed ones still queued

    rescuer = start_worker(WEBHOOK_WORKER_CONCURRENCY="3", WEBHOOK_WORKER_BATCH="10")
    wait_for(lambda: count_status(worker_db, "done") == 30, 60, "every event done by the second worker")
    finished = query(
        worker_db,
        "SELECT event_id, pid, extract(epoch FROM started_at)::float8 FROM worker_runs WHERE ended_at IS NOT NULL",
    )
    assert sorted(event_id for event_id, _, _ in finished) == sorted(events)  # each finished exactly once
    taken_over = [(pid, started) for event_id, pid, started in finished if event_id in held]
    assert {pid for pid, _ in taken_over} == {rescuer.pid}
    # Only once the lease ran out: 2 s from the last renewal, which comes every 2/3 s.
    assert min(started for _, started in taken_over) - killed_at > 2 - 2 / 3 - 0.2
    for attempts, last_error in query(
        worker_db, "SELECT attempts, last_error FROM webhook_events WHERE event_id = ANY(%s)", list(held)
    ):
        assert attempts == 2
        assert last_error.startswith("attempt 1 got no outcome: worker ") and str(victim.pid) in last_error


def test_an_event_whose_handler_keeps_killing_its_worker_ends_dead(
    worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    # The attempt is counted at the claim: a crash mid-handler uses it up like a failure would.
    (event_id,) = insert_events(worker_db, 1, prefix="crashes", sleep=60)
    victim = start_worker(WEBHOOK_MAX_ATTEMPTS="1", WEBHOOK_LEASE_SECONDS="2")
    wait_for(lambda: query(worker_db, "SELECT count(*) FROM worker_runs")[0][0] == 1, 10, "the handler running")
    victim.kill()

    start_worker(WEBHOOK_MAX_ATTEMPTS="1")
    wait_for(lambda: count_status(worker_db, "dead") == 1, 15, "the event dead once the lease ran out")
    ((attempts, last_error, processed),) = query(
        worker_db, "SELECT attempts, last_error, processed_at IS NOT NULL FROM webhook_events"
    )
    assert (attempts, processed) == (1, True)
    assert last_error.startswith("attempt 1 got no outcome: worker ") and str(victim.pid) in last_error
    assert query(worker_db, "SELECT count(*) FROM worker_runs WHERE event_id = %s", event_id) == [(1,)]  # not run again
