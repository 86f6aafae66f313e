"""The worker's own retention: old finished events go at start (then hourly); nothing else does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg

from tests.harness.polling import wait_for
from tests.harness.postgres import make_day
from tests.worker.conftest import WorkerProcess, insert_events, query


def age_events(database_url: str, prefix: str, status: str, days: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        make_day(conn, datetime.now(UTC) - timedelta(days=days))
    query(
        database_url,
        "UPDATE webhook_events SET status = %s, received_at = now() - make_interval(days => %s), "
        "processed_at = now() - make_interval(days => %s) WHERE event_id LIKE %s RETURNING 1",
        status,
        days,
        days,
        f"{prefix}%",
    )


def remaining(database_url: str) -> dict[str, int]:
    rows = query(database_url, "SELECT split_part(event_id, '_', 1), count(*) FROM webhook_events GROUP BY 1")
    return dict(rows)


def test_the_worker_prunes_finished_events_past_the_retention_and_keeps_the_rest(
    worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    insert_events(worker_db, 2500, prefix="olddone")  # more than one batch
    insert_events(worker_db, 3, prefix="oldskipped")
    insert_events(worker_db, 3, prefix="olddead")
    insert_events(worker_db, 3, prefix="recentdone")
    age_events(worker_db, "olddone", "done", 31)
    age_events(worker_db, "oldskipped", "skipped", 31)
    age_events(worker_db, "olddead", "dead", 31)
    age_events(worker_db, "recentdone", "done", 29)

    worker = start_worker(WEBHOOK_RETENTION="30d")
    wait_for(lambda: "pruned 2503 finished events" in worker.log(), 20, "the worker's first prune")
    assert remaining(worker_db) == {"olddead": 3, "recentdone": 3}


def test_retention_off_keeps_everything(worker_db: str, start_worker: Callable[..., WorkerProcess]) -> None:
    insert_events(worker_db, 3, prefix="olddone")
    age_events(worker_db, "olddone", "done", 400)
    worker = start_worker(WEBHOOK_RETENTION="off")
    wait_for(lambda: "retention off (WEBHOOK_RETENTION=off)" in worker.log(), 10, "the worker saying so")
    assert remaining(worker_db) == {"olddone": 3}
