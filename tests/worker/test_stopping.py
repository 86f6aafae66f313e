"""Start and stop of a real worker process: config errors at start, SIGTERM within the cap, outages."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.conftest import REPO_ROOT
from tests.harness.polling import wait_for
from tests.worker.conftest import (
    TEST_ENV,
    WORKER_SCRIPT,
    WorkerProcess,
    count_status,
    create_runs_table,
    insert_events,
    query,
)
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.errors import EXIT_CONFIG
from webhook_server.worker.dispatcher import STOP_STATEMENT_SECONDS

CAP_SECONDS = 4.0
# The exit itself on a busy 2-core machine: interpreter teardown, a last statement.
EXIT_MARGIN_SECONDS = 1.5


def test_sigterm_lets_running_handlers_finish_and_gives_back_the_queued_events(
    worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    insert_events(worker_db, 10, sleep=1)
    worker = start_worker(
        WEBHOOK_WORKER_CONCURRENCY="2", WEBHOOK_WORKER_BATCH="10", WEBHOOK_SHUTDOWN_CAP=str(CAP_SECONDS)
    )
    wait_for(lambda: query(worker_db, "SELECT count(*) FROM worker_runs")[0][0] == 2, 10, "two handlers running")

    sent = worker.terminate()
    assert worker.process.wait(CAP_SECONDS + EXIT_MARGIN_SECONDS) == 0
    assert time.monotonic() - sent < CAP_SECONDS + EXIT_MARGIN_SECONDS
    assert count_status(worker_db, "done") == 2  # the two running handlers finished
    # The rest are due again at once, their claim not counted as an attempt.
    assert query(
        worker_db,
        "SELECT status, attempts, locked_by, next_attempt_at <= now() FROM webhook_events "
        "WHERE status <> 'done' GROUP BY 1, 2, 3, 4",
    ) == [("pending", 0, None, True)]
    assert count_status(worker_db, "pending") == 8


def test_sigterm_exits_within_the_cap_even_when_a_handler_does_not_end(
    worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    insert_events(worker_db, 2, sleep=60)
    worker = start_worker(WEBHOOK_WORKER_CONCURRENCY="2", WEBHOOK_SHUTDOWN_CAP=str(CAP_SECONDS))
    wait_for(lambda: query(worker_db, "SELECT count(*) FROM worker_runs")[0][0] == 2, 10, "two handlers running")

    sent = worker.terminate()
    assert worker.process.wait(CAP_SECONDS + EXIT_MARGIN_SECONDS) == 0
    elapsed = time.monotonic() - sent
    assert CAP_SECONDS - 2 < elapsed < CAP_SECONDS + EXIT_MARGIN_SECONDS  # it did wait for them, then gave up
    assert query(worker_db, "SELECT status, attempts, locked_by FROM webhook_events GROUP BY 1, 2, 3") == [
        ("pending", 0, None)
    ]


def test_an_idle_worker_stops_at_once(start_worker: Callable[..., WorkerProcess]) -> None:
    worker = start_worker()
    sent = worker.terminate()
    assert worker.process.wait(5) == 0
    assert time.monotonic() - sent < 2


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WEBHOOK_HANDLER_MODULES": "no_such_module"}, "WEBHOOK_HANDLER_MODULES: no module named 'no_such_module'"),
        (
            {"WEBHOOK_HANDLER_MODULES": "tests.worker.bad_signature_handlers"},
            "bad_signature_handlers.broken(event: 'Event', extra: 'object')",
        ),
        ({"WEBHOOK_HANDLER_MODULES": ""}, "WEBHOOK_HANDLER_MODULES: not set"),
        ({"WEBHOOK_RETRY_CAP": "0.1"}, "WEBHOOK_RETRY_CAP: 0.1 s is below WEBHOOK_RETRY_BASE"),
        (
            {"INVOCATION_ID": "0" * 32, "WEBHOOK_SYSTEMD_TIMEOUT_STOP": "15", "WEBHOOK_SHUTDOWN_CAP": "20"},
            "WEBHOOK_SHUTDOWN_CAP: 20 s does not end 1 s before the unit's TimeoutStopSec=15",
        ),
    ],
)
def test_a_bad_configuration_stops_the_start_with_a_clear_error(env: dict[str, str], expected: str) -> None:
    environment = {**os.environ, **TEST_ENV, "DATABASE_URL": "postgresql://127.0.0.1:1/none", **env}
    result = subprocess.run(
        [str(WORKER_SCRIPT), "worker"], env=environment, cwd=REPO_ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == EXIT_CONFIG
    assert expected in result.stderr


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def own_postgres(own_postgres: LocalPostgres) -> LocalPostgres:
    """The shared fixture's server, with the recording handlers' table."""
    create_runs_table(own_postgres.url())
    return own_postgres


def test_a_database_outage_is_logged_and_survived(own_postgres: LocalPostgres, tmp_path: Path) -> None:
    # The handlers' own connections break with the restart: their first use fails an attempt.
    worker = WorkerProcess(own_postgres.url(), tmp_path / "worker.log", WEBHOOK_MAX_ATTEMPTS="10")
    try:
        worker.wait_ready()
        insert_events(own_postgres.url(), 5, prefix="before")
        wait_for(lambda: count_status(own_postgres.url(), "done") == 5, 10, "events before the outage done")

        insert_events(own_postgres.url(), 3, prefix="during", sleep=1)  # held across the outage
        wait_for(lambda: "during" in str(query(own_postgres.url(), "SELECT event_id FROM worker_runs")), 10, "held")
        own_postgres.stop()
        cpu_before = cpu_seconds(worker.pid)
        time.sleep(3)
        assert worker.process.poll() is None
        assert "failed, retrying in" in worker.log()
        assert cpu_seconds(worker.pid) - cpu_before < 0.5  # backing off, not spinning

        own_postgres.start()
        insert_events(own_postgres.url(), 5, prefix="after")
        # The worker's backoff is at most 10 s; its poll finds them even if the NOTIFY is missed.
        wait_for(lambda: count_status(own_postgres.url(), "done") == 13, 30, "every event done after the outage")
        assert worker.process.poll() is None
    finally:
        worker.kill()


def tcp_ports(pid: int) -> list[int]:
    """The local ports of the TCP connections process ``pid`` holds, read from /proc."""
    sockets = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            target = os.readlink(fd)
            if target.startswith("socket:["):
                sockets.add(target[len("socket:[") : -1])
    ports = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in sockets:
                ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def terminate_dispatcher_session(database_url: str, worker: WorkerProcess) -> None:
    """Kill this worker's own database session (not its listener's, pruner's or handlers', nor
    any other process's): its next statement fails."""
    killed = query(
        database_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'webhook-server' "
        "AND datname = current_database() AND client_port = ANY(%s)",
        tcp_ports(worker.pid),
    )
    assert killed == [(True,)], killed


def test_a_stop_right_after_a_failed_statement_still_records_the_outcome(
    worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    (event_id,) = insert_events(worker_db, 1, sleep=0.5)
    worker = start_worker(WEBHOOK_WORKER_CONCURRENCY="1", WEBHOOK_SHUTDOWN_CAP=str(CAP_SECONDS))
    wait_for(lambda: query(worker_db, "SELECT count(*) FROM worker_runs")[0][0] == 1, 10, "the handler running")
    terminate_dispatcher_session(worker_db, worker)
    # The next statement (a poll's claim) fails on the dead session: the worker backs off.
    wait_for(lambda: "failed, retrying in" in worker.log(), 10, "a failed statement")

    worker.terminate()
    assert worker.process.wait(CAP_SECONDS + EXIT_MARGIN_SECONDS) == 0
    assert query(worker_db, "SELECT event_id, status, attempts, locked_by FROM webhook_events") == [
        (event_id, "done", 1, None)
    ], worker.log()[-3000:]


def test_a_stop_right_after_a_failed_statement_still_gives_back_the_unstarted_events(
    worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    insert_events(worker_db, 3, sleep=0.5)
    worker = start_worker(
        WEBHOOK_WORKER_CONCURRENCY="1", WEBHOOK_WORKER_BATCH="3", WEBHOOK_SHUTDOWN_CAP=str(CAP_SECONDS)
    )
    wait_for(lambda: query(worker_db, "SELECT count(*) FROM worker_runs")[0][0] == 1, 10, "the first handler running")
    terminate_dispatcher_session(worker_db, worker)
    # The next statement fails on the dead session while two events wait for the only thread.
    wait_for(lambda: "failed, retrying in" in worker.log(), 10, "a failed statement")

    worker.terminate()
    assert worker.process.wait(CAP_SECONDS + EXIT_MARGIN_SECONDS) == 0
    rows = query(worker_db, "SELECT status, attempts, locked_by FROM webhook_events ORDER BY status")
    assert rows == [("done", 1, None), ("pending", 0, None), ("pending", 0, None)], worker.log()[-3000:]


def test_a_session_reopened_during_the_stop_keeps_the_stop_statement_limit(
    worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    """The dead session is replaced when the handler returns; the outcome's write then waits on a
    row lock. It must give up at the stop's statement limit, not after WEBHOOK_DB_TIMEOUT (5 s)."""
    cap = 8.0  # leaves time to reconnect (libpq's connect_timeout is the 5 s of WEBHOOK_DB_TIMEOUT)
    (event_id,) = insert_events(worker_db, 1, sleep=1)
    worker = start_worker(
        WEBHOOK_WORKER_CONCURRENCY="1",
        WEBHOOK_SHUTDOWN_CAP=str(cap),
        WEBHOOK_DB_TIMEOUT="5",
        WEBHOOK_LEASE_SECONDS="30",
    )
    wait_for(lambda: query(worker_db, "SELECT count(*) FROM worker_runs")[0][0] == 1, 10, "the handler running")
    with psycopg.connect(worker_db) as locker:
        locker.execute("SELECT 1 FROM webhook_events WHERE event_id = %s FOR UPDATE", (event_id,))
        terminate_dispatcher_session(worker_db, worker)
        sent = worker.terminate()
        assert worker.process.wait(cap + EXIT_MARGIN_SECONDS) == 0
        # The handler's second, then each of the two blocked writes (the loop's, the last one)
        # cut at the stop's limit; with the 5 s limit the first alone would take 5 s.
        assert time.monotonic() - sent < 1 + 2 * STOP_STATEMENT_SECONDS + EXIT_MARGIN_SECONDS
        locker.rollback()
    cancelled = r"record_outcomes failed, retrying in [0-9.]+ s: canceling statement due to statement timeout"
    assert re.search(cancelled, worker.log())
