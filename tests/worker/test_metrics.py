"""The worker's own /metrics: a heartbeat, outcomes, skipped types, the backlog's age; and the
one log line per skipped type."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.worker.conftest import WorkerProcess, count_status, insert_events, query, wait_for
from webhook_server.dev.localdb import free_port


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the worker's /metrics by name and labels."""
    response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


# Each series also carries its scheme as ``provider``, the label's old name, until 0.2.0.
def outcome(scheme: str, name: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("webhook_worker_events_total", (("outcome", name), ("provider", scheme), ("scheme", scheme)))


def skipped(scheme: str, event_type: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("webhook_worker_skipped_total", (("provider", scheme), ("scheme", scheme), ("type", event_type)))


HEARTBEAT = ("webhook_worker_heartbeat_timestamp_seconds", ())
OLDEST_DUE = ("webhook_worker_oldest_due_seconds", ())


def insert_unhandled(database_url: str, event_type: str, count: int) -> None:
    query(
        database_url,
        "INSERT INTO webhook_events (provider, event_id, event_type, payload) "
        "SELECT 'other', %s || n, %s, '{}' FROM generate_series(1, %s) AS n RETURNING id",
        event_type,
        event_type,
        count,
    )


def test_the_worker_reports_outcomes_skipped_types_and_a_heartbeat(
    worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    port = free_port()
    worker = start_worker(WEBHOOK_WORKER_METRICS_BIND=f"127.0.0.1:{port}")
    before = scrape(port)
    # Schemes with a handler start at 0, so that an alert on increase() sees the first dead event.
    assert before[outcome("test", "dead")] == 0

    insert_events(worker_db, 5)
    insert_events(worker_db, 1, prefix="doomed", fail_attempts=99)  # 3 attempts (TEST_ENV), then dead
    insert_unhandled(worker_db, "invoice.created", 3)
    insert_unhandled(worker_db, "invoice.paid", 2)
    wait_for(lambda: count_status(worker_db, "done", "dead", "skipped") == 11, 20, "every event finished")

    wait_for(lambda: scrape(port).get(outcome("test", "dead")) == 1, 5, "the dead event counted")
    after = scrape(port)
    assert after[outcome("test", "done")] == 5
    assert after[outcome("test", "failed")] == 2
    assert after[outcome("other", "skipped")] == 5
    assert after[skipped("other", "invoice.created")] == 3
    assert after[skipped("other", "invoice.paid")] == 2
    assert after[OLDEST_DUE] == 0  # nothing is waiting
    assert after[HEARTBEAT] > before[HEARTBEAT]  # it beats while idle too (the poll)
    assert abs(after[HEARTBEAT] - time.time()) < 5
    assert after[("process_resident_memory_bytes", ())] > 0

    # Logged once per type, not once per event.
    assert worker.log().count("events of type invoice.created are skipped") == 1
    assert worker.log().count("events of type invoice.paid are skipped") == 1


def test_the_backlog_age_is_the_oldest_due_events_wait(
    worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    # One thread and batches of 1: the worker holds at most 2 events, the two oldest, which
    # sleep; the third stays due, waiting for 90 s when the worker starts.
    insert_events(worker_db, 2, prefix="busy", sleep=30)
    insert_events(worker_db, 1, prefix="waiting")
    query(
        worker_db,
        "UPDATE webhook_events SET next_attempt_at = now() - CASE WHEN event_id LIKE 'busy%%' "
        "THEN interval '200 seconds' ELSE interval '90 seconds' END RETURNING id",
    )
    port = free_port()
    start_worker(
        WEBHOOK_WORKER_METRICS_BIND=f"127.0.0.1:{port}",
        WEBHOOK_WORKER_CONCURRENCY="1",
        WEBHOOK_WORKER_BATCH="1",
        WEBHOOK_LEASE_SECONDS="60",
    )
    wait_for(
        lambda: count_status(worker_db, "pending") == 3 and len(query(worker_db, "SELECT 1 FROM worker_runs")) == 1,
        10,
        "the first busy event running",
    )
    wait_for(lambda: 90 <= scrape(port).get(OLDEST_DUE, 0) < 120, 10, "the waiting event's age reported")
    assert query(worker_db, "SELECT count(*) FROM webhook_events WHERE locked_by IS NOT NULL") == [(2,)]


def test_a_taken_metrics_port_stops_the_start_with_a_clear_error(
    worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    port = free_port()
    start_worker(WEBHOOK_WORKER_METRICS_BIND=f"127.0.0.1:{port}")
    second = start_worker(wait=False, WEBHOOK_WORKER_METRICS_BIND=f"127.0.0.1:{port}")
    assert second.process.wait(30) == 78
    assert f"WEBHOOK_WORKER_METRICS_BIND: cannot listen on 127.0.0.1:{port}" in second.log()
