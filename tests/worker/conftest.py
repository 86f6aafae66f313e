"""Real ``webhook-server worker`` processes against the tests' Postgres, and the runs they record."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import REPO_ROOT
from tests.harness.gunicorn import kill_group, start_logged
from tests.harness.polling import wait_for

READY_TIMEOUT_SECONDS = 30
WORKER_SCRIPT = Path(sys.executable).parent / "webhook-server"
# Small numbers so that retries, leases and polls fit in a test; every one is overridable.
TEST_ENV = {
    "WEBHOOK_HANDLER_MODULES": "tests.worker.recording_handlers",
    "WEBHOOK_WORKER_POLL": "0.2",
    "WEBHOOK_RETRY_BASE": "0.2",
    "WEBHOOK_RETRY_CAP": "0.4",
    "WEBHOOK_MAX_ATTEMPTS": "3",
    "WEBHOOK_LEASE_SECONDS": "2",
    "WEBHOOK_DB_TIMEOUT": "0.5",
    "WEBHOOK_HANDLER_TIMEOUT": "10",
}


class WorkerProcess:
    """One ``webhook-server worker`` in its own session, its JSON log in a file."""

    def __init__(self, database_url: str, log_path: Path, **env: str) -> None:
        self.log_path = log_path
        environment = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(REPO_ROOT), **TEST_ENV, **env}
        self.process = start_logged([str(WORKER_SCRIPT), "worker"], log_path, env=environment, cwd=REPO_ROOT)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        """Until it listens for notifies (its first claim has been made by then or just after)."""

        def listening() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log()[-5000:]}")
            return "listening for new events" in self.log()

        wait_for(listening, READY_TIMEOUT_SECONDS, lambda: f"worker listening:\n{self.log()[-5000:]}")

    def terminate(self) -> float:
        """SIGTERM; return the monotonic time it was sent."""
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        return sent

    def kill(self) -> None:
        kill_group(self.process)


@pytest.fixture
def worker_db(clean_db: str) -> str:
    """The tests' database, emptied, with a fresh ``worker_runs`` table for the handlers."""
    create_runs_table(clean_db)
    return clean_db


def create_runs_table(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS worker_runs")
        conn.execute(
            "CREATE TABLE worker_runs (id bigserial PRIMARY KEY, event_id text NOT NULL, attempt int NOT NULL, "
            "pid int NOT NULL, started_at timestamptz NOT NULL, ended_at timestamptz, failed boolean, payload text)"
        )


@pytest.fixture
def start_worker(worker_db: str, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start a worker with extra environment variables and wait until it listens; all are killed afterwards."""
    workers: list[WorkerProcess] = []

    def start(*, wait: bool = True, **env: str) -> WorkerProcess:
        worker = WorkerProcess(worker_db, tmp_path / f"worker-{len(workers)}.log", **env)
        workers.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    yield start
    for worker in workers:
        worker.kill()


def insert_events(
    database_url: str, count: int, *, scheme: str = "test", prefix: str = "evt", **behaviour: Any
) -> list[str]:
    """Store ``count`` events in one transaction (one NOTIFY); return their ids."""
    ids = [f"{prefix}_{number:05d}" for number in range(count)]
    payloads = [json.dumps({"id": event_id, "created": 1700000000, "test": behaviour}) for event_id in ids]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO webhook_events (provider, event_id, event_type, payload) "
            "SELECT %s, id, 'test.event', payload::jsonb FROM unnest(%s::text[], %s::text[]) AS t (id, payload)",
            (scheme, ids, payloads),
        )
    return ids


def query(database_url: str, statement: str, *params: Any) -> list[tuple]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall()


def events_show(database_url: str, event_id: str, *options: str) -> str:
    """What ``webhook-server events show`` prints for the event."""
    shown = subprocess.run(
        [str(WORKER_SCRIPT), "events", "show", event_id, *options],
        env={**os.environ, "DATABASE_URL": database_url},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return shown.stdout


def count_status(database_url: str, *statuses: str) -> int:
    return query(database_url, "SELECT count(*) FROM webhook_events WHERE status = ANY(%s)", list(statuses))[0][0]


def run_under_kills(database_url: str, start: Callable[..., WorkerProcess], total: int, **env: str) -> int:
    """Start workers and SIGKILL each once it has finished a random share of the events left; return the kills.

    Each worker is killed mid-work (until the last, which may finish first): its handlers are
    wherever they are, in their transactions or between them.
    """
    kills = 0
    while (done := count_status(database_url, "done")) < total:
        worker = start(**{"WEBHOOK_MAX_ATTEMPTS": "1000", **env})  # each kill costs every held event an attempt
        target = min(total, done + random.randint(1, max(1, total // 4)))
        wait_for(lambda target=target: count_status(database_url, "done") >= target, 60, f"{target} events done")
        worker.kill()  # to the group, waited for: open transactions roll back as their connections drop
        kills += 1
    return kills
