"""A failover under load, as issue 26 asks: for tests/ha and ``bench/failover.py``.

The webhook-server's processes on the cluster's ``DATABASE_URL`` (HAProxy's `postgres`
frontend by default): one gunicorn (2 workers x 8 threads) with the spool on, a worker, the
dashboard. Signed GitHub deliveries at a steady rate, each on a new connection with GitHub's
10 s timeout and no retry. A fault is made on the leader; the load goes on for a while after
another member answers Patroni's ``/primary``; then the run waits until the spool is empty and
the worker has handled every acknowledged event, and reads on the new leader itself, not
through HAProxy, which acknowledged events it holds.
"""

from __future__ import annotations

import contextlib
import enum
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests import signers
from tests.harness.dashboard import DashboardServer
from tests.harness.gunicorn import GunicornServer
from tests.harness.load import Answer, Delivery, SignedLoad
from tests.harness.patroni import FAILOVER_TIMEOUT_SECONDS, PatroniCluster
from tests.harness.polling import wait_for
from tests.worker.conftest import WorkerProcess
from webhook_server.spool.store import read_summary

GITHUB_SECRET = "test-github-secret-for-failover"
# GitHub gives a delivery 10 s and never retries it.
GITHUB_TIMEOUT_SECONDS = 10.0
# Enough in flight that slow answers do not slow the load: 100/s answered after 2 s is 200.
SENDERS = 200
# Load before the fault, and after the new leader answers: both edges are seen under load.
STEADY_SECONDS = 2.0
AFTER_SECONDS = 4.0
# Until the spool is empty and every acknowledged event is handled on the new leader.
SETTLE_TIMEOUT_SECONDS = 90.0
DASHBOARD_PAGES = 3
# The worker's settings: a lease that outlives no failover, attempts that a few failovers do not use up.
WORKER_ENV = {
    "WEBHOOK_HANDLER_MODULES": "tests.ha.handlers",
    "WEBHOOK_DB_TIMEOUT": "1",
    "WEBHOOK_LEASE_SECONDS": "5",
    "WEBHOOK_MAX_ATTEMPTS": "20",
}


class Fault(enum.Enum):
    KILL_POSTGRES = "kill -9 of the leader's Postgres"
    KILL_PATRONI = "kill -9 of the leader's Patroni"
    SWITCHOVER = "patronictl switchover"


def github_delivery() -> Delivery:
    """A signed GitHub ``issues`` delivery: its id (X-GitHub-Delivery), body and headers."""
    delivery = str(uuid.uuid4())
    body = json.dumps({"action": "opened", "issue": {"number": 1, "title": "failover"}}).encode()
    return delivery, body, signers.github(body, GITHUB_SECRET, delivery=delivery)


class Stack:
    """The server (spool on), a worker and the dashboard on ``database_url``; ``kill`` ends them."""

    def __init__(self, directory: Path, database_url: str) -> None:
        self.spool_dir = directory / "spool"
        self.spool_dir.mkdir(mode=0o700)
        self.server = GunicornServer(
            database_url,
            directory / "gunicorn.log",
            GITHUB_WEBHOOK_SECRET=GITHUB_SECRET,
            WEBHOOK_SPOOL_DIR=str(self.spool_dir),
            WEBHOOK_THREADS="8",
        )
        self.worker = WorkerProcess(database_url, directory / "worker.log", **WORKER_ENV)
        self.dashboard = DashboardServer(database_url, directory / "dashboard.log")
        self.server.wait_until_healthy()
        self.worker.wait_ready()
        self.dashboard.wait_until_ready()
        self.dashboard_session = self.dashboard.sign_in()

    def dashboard_statuses(self) -> list[int]:
        """The dashboard's events page, loaded a few times: what an operator sees now."""
        return [
            self.dashboard_session.get(self.dashboard.url("/"), timeout=10).status_code for _ in range(DASHBOARD_PAGES)
        ]

    def kill(self) -> None:
        self.server.kill()
        self.worker.kill()
        self.dashboard.kill()


@dataclass
class FailoverRun:
    """What one fault cost: every answer, and what the new leader held once things settled."""

    fault: Fault
    old_leader: str
    new_leader: str
    fault_at: float  # monotonic
    new_leader_at: float  # monotonic: another member answered /primary with 200 (polled every 50 ms)
    answers: list[Answer]
    acknowledged: list[str]
    missing: list[str]  # acknowledged, and not on the new leader
    unhandled: list[str]  # acknowledged, and not done by the worker
    dashboard: list[int]  # the dashboard's statuses right after the load

    @property
    def failed(self) -> list[Answer]:
        return [a for a in self.answers if a.status != 200]

    @property
    def spooled(self) -> list[Answer]:
        return [a for a in self.answers if a.status == 200 and a.spooled]

    def leader_seconds(self) -> float:
        return self.new_leader_at - self.fault_at

    def first_commit_seconds(self) -> float | None:
        """From the fault to the first delivery committed straight to Postgres (not spooled)
        among those sent once the new leader was up: the first commit on it, as a sender sees it."""
        direct = [
            a.answered_at for a in self.answers if a.status == 200 and not a.spooled and a.sent_at >= self.new_leader_at
        ]
        return min(direct) - self.fault_at if direct else None

    def slowest(self) -> float:
        return max((a.seconds for a in self.answers), default=0.0)

    def summary(self) -> str:
        first = self.first_commit_seconds()
        return (
            f"{self.fault.value}: {len(self.answers)} sent, {len(self.failed)} failed, "
            f"{len(self.missing)} acknowledged missing, {len(self.unhandled)} unhandled, "
            f"{len(self.spooled)} spooled; new leader "
            f"{self.old_leader}->{self.new_leader} after {self.leader_seconds():.2f} s, first commit on it "
            f"{'none' if first is None else f'{first:.2f} s'} after the fault; slowest answer {self.slowest():.2f} s"
        )


def run(
    cluster: PatroniCluster, stack: Stack, fault: Fault, *, rate: float, after: float = AFTER_SECONDS
) -> FailoverRun:
    """Make ``fault`` on the leader under load, let the cluster settle and read what it holds."""
    old = cluster.leader()
    assert old is not None, cluster.describe()
    candidate = cluster.sync_standby() or next(m for m in cluster.members if m is not old)
    with SignedLoad(
        stack.server.url("/webhooks/github"),
        rate,
        senders=SENDERS,
        delivery=github_delivery,
        timeout=GITHUB_TIMEOUT_SECONDS,
    ) as load:
        time.sleep(STEADY_SECONDS)
        fault_at = time.monotonic()
        if fault is Fault.KILL_POSTGRES:
            cluster.kill_postgres(old)
        elif fault is Fault.KILL_PATRONI:
            cluster.kill_patroni(old)
        else:
            cluster.switchover(candidate)
        new = cluster.wait_for_leader(other_than=old, timeout=FAILOVER_TIMEOUT_SECONDS)
        new_leader_at = time.monotonic()
        time.sleep(after)
    dashboard = stack.dashboard_statuses()
    if old.process is None:  # its Patroni was killed: started again, it rejoins as a standby
        cluster.start_patroni(old)
    acknowledged = list(load.ledger.acknowledged)
    missing, unhandled = _settle(cluster, stack, acknowledged)
    return FailoverRun(
        fault,
        old.name,
        new.name,
        fault_at,
        new_leader_at,
        list(load.ledger.answers),
        acknowledged,
        missing,
        unhandled,
        dashboard,
    )


def _settle(cluster: PatroniCluster, stack: Stack, acknowledged: list[str]) -> tuple[list[str], list[str]]:
    """Wait until the spool is empty and every acknowledged event is done on the leader (or the
    time is up); return the acknowledged events missing there, and those not handled."""
    missing, unhandled = list(acknowledged), list(acknowledged)

    def settled() -> bool:
        nonlocal missing, unhandled
        leader = cluster.leader()
        if leader is None or read_summary(stack.spool_dir).events:
            return False
        try:
            statuses = held_events(cluster.member_url(leader))
        except psycopg.Error:
            return False
        missing = [event_id for event_id in acknowledged if event_id not in statuses]
        unhandled = [event_id for event_id in acknowledged if statuses.get(event_id) != "done"]
        return not missing and not unhandled

    with contextlib.suppress(AssertionError):  # the caller asserts on what is missing, with the numbers
        wait_for(settled, SETTLE_TIMEOUT_SECONDS, "")
    return missing, unhandled


def held_events(member_url: str) -> dict[str, str]:
    """Every GitHub event on one member, read there (not through HAProxy): id -> status."""
    with psycopg.connect(member_url, connect_timeout=5) as conn:
        rows = conn.execute("SELECT event_id, status FROM webhook_events WHERE provider = 'github'").fetchall()
    return dict(rows)
