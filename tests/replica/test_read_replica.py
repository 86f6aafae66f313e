"""WEBHOOK_READ_DATABASE_URL (issue 25): the dashboard's pages, `events list|show` and `stats` read
from a streaming replica and say how far behind it is; replays and deliveries stay on the primary.

The replica is made with pg_basebackup from a primary of this module's own. To tell which server
answered, its replay is paused: an event committed on the primary afterwards is on the primary
only, until the replay resumes.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.acceptance.test_cli import CLI
from tests.harness.dashboard import DashboardServer, csrf_token
from tests.harness.gunicorn import GunicornServer
from tests.harness.postgres import NOT_DURABLE
from tests.harness.replica import start_replica, wait_caught_up
from webhook_server import db
from webhook_server.dev.localdb import LocalPostgres, free_port
from webhook_server.dev.samples import stripe_event
from webhook_server.errors import EXIT_DATABASE, EXIT_FAILURE, EXIT_OK
from webhook_server.migrations import migrate

COMMAND_TIMEOUT_SECONDS = 60


@dataclass
class Servers:
    primary: LocalPostgres
    replica: LocalPostgres

    def env(self) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": self.primary.url(), db.READ_URL_VARIABLE: self.replica.url()}

    def pause_replay(self, paused: bool) -> None:
        with psycopg.connect(self.replica.url(), autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    directory = tmp_path_factory.mktemp("replica")
    with LocalPostgres(directory / "primary", settings=NOT_DURABLE) as primary:
        migrate(primary.url())
        replica = start_replica(primary, directory / "replica")
        try:
            yield Servers(primary, replica)
        finally:
            replica.stop()


def cli(servers: Servers, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=servers.env(), capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS
    )


def listed(servers: Servers) -> set[str]:
    result = cli(servers, "events", "list", "--json")
    assert result.returncode == EXIT_OK, result.stderr
    return {row["event_id"] for row in json.loads(result.stdout)}


def test_reads_come_from_the_replica_and_say_how_far_behind_it_is(servers: Servers, tmp_path: Path) -> None:
    server = GunicornServer(servers.primary.url(), tmp_path / "gunicorn.log")
    dashboard = DashboardServer(
        servers.primary.url(), tmp_path / "dashboard.log", **{db.READ_URL_VARIABLE: servers.replica.url()}
    )
    try:
        server.wait_until_healthy()
        dashboard.wait_until_ready()
        before, after = stripe_event(), stripe_event()
        assert server.deliver(before).status_code == 200
        wait_caught_up(servers.primary, servers.replica)
        servers.pause_replay(True)
        try:
            assert server.deliver(after).status_code == 200  # the primary takes it: only its reads are behind
            assert before["id"] in listed(servers) and after["id"] not in listed(servers)
            missing = cli(servers, "events", "show", after["id"])
            assert missing.returncode == EXIT_FAILURE and "no event" in missing.stderr

            stats = cli(servers, "stats", "--json")
            assert stats.returncode == EXIT_OK, stats.stderr
            assert json.loads(stats.stdout)["replica_lag_seconds"] >= 0
            text = cli(servers, "stats")
            assert "read from a replica (WEBHOOK_READ_DATABASE_URL)" in text.stdout, text.stdout

            session = dashboard.sign_in()
            overview = session.get(dashboard.url("/"), timeout=10)
            assert overview.status_code == 200 and "Read from a replica" in overview.text
            events_page = session.get(dashboard.url("/events"), timeout=10).text
            assert before["id"] in events_page and after["id"] not in events_page

            # A replay writes: on the primary, though the page it came from was read on the replica.
            with psycopg.connect(servers.primary.url(), autocommit=True) as conn:
                (row_id,) = conn.execute(
                    "UPDATE webhook_events SET status = 'dead' WHERE event_id = %s RETURNING id", (before["id"],)
                ).fetchone() or (None,)
            token = csrf_token(session.get(dashboard.url("/events"), timeout=10).text)
            answer = session.post(dashboard.url(f"/events/{row_id}/replay"), data={"csrf_token": token}, timeout=10)
            assert answer.ok, answer.text[:2000]
            with psycopg.connect(servers.primary.url()) as conn:
                status = conn.execute("SELECT status FROM webhook_events WHERE id = %s", (row_id,)).fetchone()
            assert status == ("pending",)
        finally:
            servers.pause_replay(False)
        wait_caught_up(servers.primary, servers.replica)
        assert {before["id"], after["id"]} <= listed(servers)
    finally:
        server.kill()
        dashboard.kill()


def test_without_a_replica_the_reads_say_nothing_of_lag(servers: Servers) -> None:
    env = {k: v for k, v in servers.env().items() if k != db.READ_URL_VARIABLE}
    result = subprocess.run(
        [*CLI, "stats", "--json"], env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS
    )
    assert result.returncode == EXIT_OK, result.stderr
    assert json.loads(result.stdout)["replica_lag_seconds"] is None


def test_an_unreachable_replica_is_named_with_the_fix(servers: Servers) -> None:
    env = {**servers.env(), db.READ_URL_VARIABLE: f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"}
    result = subprocess.run(
        [*CLI, "events", "list"], env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS
    )
    assert result.returncode == EXIT_DATABASE
    assert "(read from WEBHOOK_READ_DATABASE_URL: fix it, or unset it to read DATABASE_URL)" in result.stderr
