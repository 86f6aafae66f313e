"""Everything through Debian's PgBouncer 1.18 in transaction pooling (issue 25): the server, the
worker, the dashboard and the operator commands, with WEBHOOK_DB_POOLER=transaction.

A Postgres of this module's own, started with ``synchronous_commit=off`` so that only the role's
settings (docs/how-to/pgbouncer.md) can make the inbox's commits durable through the pooler; a
pool of 3 server connections shared by every client, so that a statement psycopg prepared on
one server connection would meet another client's ("prepared statement _pg3_0 already exists").
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
from tests.conftest import REPO_ROOT, STRIPE_SECRET
from tests.harness import pgbouncer
from tests.harness.dashboard import DashboardServer
from tests.harness.gunicorn import GunicornServer
from tests.harness.pgbouncer import PgBouncer
from tests.harness.polling import wait_for
from tests.worker.conftest import TEST_ENV, WorkerProcess, create_runs_table
from webhook_server import db
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.dev.samples import stripe_event
from webhook_server.errors import EXIT_OK

DELIVERIES = 30
HANDLED_TIMEOUT_SECONDS = 30
COMMAND_TIMEOUT_SECONDS = 60
# What docs/how-to/pgbouncer.md puts on the role: the startup options the pooler cannot carry.
ROLE_SETTINGS = (
    "ALTER ROLE postgres SET synchronous_commit = 'on'",
    "ALTER ROLE postgres SET statement_timeout = '5s'",
)


@dataclass
class Pooled:
    postgres: LocalPostgres
    bouncer: PgBouncer
    env: dict[str, str]  # every process's: through the pooler, the direct URL beside it

    @property
    def direct_url(self) -> str:
        return self.postgres.url()


@pytest.fixture(scope="module")
def pooled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pooled]:
    if pgbouncer.missing():
        message = "the PgBouncer tests need Debian's pgbouncer: apt-get install pgbouncer (scripts/test does as root)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI runs as root on Debian: it has no excuse to skip them
        pytest.skip(message)
    directory = tmp_path_factory.mktemp("pgbouncer")
    with LocalPostgres(directory / "data", settings=("-c synchronous_commit=off",)) as postgres:
        with psycopg.connect(postgres.url(), autocommit=True) as conn:
            for statement in ROLE_SETTINGS:
                conn.execute(statement)
        bouncer = PgBouncer(directory / "bouncer", postgres)
        try:
            env = {
                "DATABASE_URL": bouncer.url(),
                db.POOLER_VARIABLE: "transaction",
                db.DIRECT_URL_VARIABLE: postgres.url(),
                "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
            }
            yield Pooled(postgres, bouncer, env)
        finally:
            bouncer.kill()


def cli(pooled: Pooled, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env={**os.environ, **pooled.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )


def test_the_server_worker_dashboard_and_commands_run_through_transaction_pooling(
    pooled: Pooled, tmp_path: Path
) -> None:
    migrated = cli(pooled, "migrate")
    assert migrated.returncode == EXIT_OK, migrated.stderr
    create_runs_table(pooled.direct_url)
    env = {k: v for k, v in pooled.env.items() if k != "DATABASE_URL"}
    url = pooled.bouncer.url()
    server = GunicornServer(url, tmp_path / "gunicorn.log", **env)
    worker = WorkerProcess(url, tmp_path / "worker.log", **env)
    dashboard = DashboardServer(url, tmp_path / "dashboard.log", **env)
    try:
        server.wait_until_healthy()
        worker.wait_ready()  # its LISTEN, on the direct URL
        dashboard.wait_until_ready()
        events = [stripe_event() for _ in range(DELIVERIES)]
        answers = [server.deliver(event) for event in events]
        assert [a.status_code for a in answers] == [200] * DELIVERIES, [a.text for a in answers if a.status_code != 200]
        ids = {event["id"] for event in events}

        def handled() -> bool:
            with psycopg.connect(pooled.direct_url) as conn:
                rows = conn.execute("SELECT event_id, status FROM webhook_events").fetchall()
            return {i for i, status in rows if status == "done"} == ids

        wait_for(handled, HANDLED_TIMEOUT_SECONDS, lambda: f"every event handled:\n{worker.log()[-3000:]}")
        with psycopg.connect(pooled.direct_url) as conn:
            runs = conn.execute("SELECT event_id FROM worker_runs").fetchall()
        assert sorted(r[0] for r in runs) == sorted(ids)

        page = dashboard.sign_in().get(dashboard.url("/events"), timeout=10)
        assert page.status_code == 200
        assert any(event_id in page.text for event_id in ids), page.text[:2000]

        listed = cli(pooled, "events", "list", "--json", "--limit", str(DELIVERIES))
        assert listed.returncode == EXIT_OK, listed.stderr
        assert {row["event_id"] for row in json.loads(listed.stdout)} == ids

        checked = cli(pooled, "check", "--timeout", "3")
        assert checked.returncode == EXIT_OK, checked.stderr
        assert checked.stdout.startswith("ok:")
        for log in (server.log(), worker.log(), dashboard.log_path.read_text()):
            assert "prepared statement" not in log and "unsupported startup parameter" not in log, log[-3000:]
    finally:
        server.kill()
        worker.kill()
        dashboard.kill()


def test_commits_through_the_pooler_wait_for_the_flush_by_the_roles_setting(
    pooled: Pooled, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server runs with synchronous_commit=off: only the role's setting makes it on, on every
    server connection the pooler hands out, since no startup option gets through."""
    monkeypatch.setenv(db.POOLER_VARIABLE, "transaction")
    seen = set()
    with db.connect(pooled.bouncer.url(), timeout=5) as conn:
        for _ in range(20):
            with conn.transaction():
                seen.add(
                    db.only_row(
                        conn.execute(
                            "SELECT current_setting('synchronous_commit'), current_setting('statement_timeout'), "
                            "(SELECT source FROM pg_settings WHERE name = 'synchronous_commit')"
                        )
                    )
                )
    assert seen == {("on", "5s", "user")}


def test_without_the_setting_the_pooler_refuses_the_startup_options(
    pooled: Pooled, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(db.POOLER_VARIABLE, raising=False)
    with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter"):
        db.connect(pooled.bouncer.url(), timeout=5).close()


def test_a_wrong_or_incomplete_setting_stops_at_start_with_the_variable_named(pooled: Pooled) -> None:
    """No database is reached in any of these: the setting is refused before."""
    bogus = cli(pooled, "events", "list", env={db.POOLER_VARIABLE: "session"})
    assert bogus.returncode == 2 and "WEBHOOK_DB_POOLER: 'session' is not one of none, transaction" in bogus.stderr
    for args in (("migrate",), ("prune", "--older-than", "30d"), ("worker",)):
        result = cli(pooled, *args, env={db.DIRECT_URL_VARIABLE: "", "PYTHONPATH": str(REPO_ROOT), **TEST_ENV})
        assert result.returncode != EXIT_OK, (args, result.stderr)
        assert "WEBHOOK_DIRECT_DATABASE_URL: not set, and WEBHOOK_DB_POOLER=transaction needs it" in result.stderr
