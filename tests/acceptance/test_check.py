"""`webhook-server check` as a process: exit 0 only when this environment can serve, else one
line per problem naming the variable and the fix."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta

import psycopg

from tests.acceptance.test_cli import CLI
from tests.conftest import STRIPE_SECRET
from webhook_server.dev.localdb import free_port
from webhook_server.errors import EXIT_FAILURE, EXIT_OK
from webhook_server.migrations import migrate
from webhook_server.retention import partitions
from webhook_server.settings import SECRET_VARIABLES

BASE_ENV = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", *SECRET_VARIABLES.values())}


def check(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "check", "--timeout", "3"], env={**BASE_ENV, **env}, capture_output=True, text=True, timeout=60
    )


def problems(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stderr.strip().splitlines()


# The tests' servers are single: check warns that a failover has nothing to fail over to.
ALONE = (
    "warning: DATABASE_URL: no standby replicates from this server: if it is lost, so is every event it "
    "acknowledged, and nothing can take over; docs/how-to/high-availability.md sets up three members with Patroni"
)


def test_a_servable_environment_passes(durable_db: str) -> None:
    result = check(DATABASE_URL=durable_db, STRIPE_WEBHOOK_SECRET=STRIPE_SECRET)
    assert (result.returncode, problems(result)) == (EXIT_OK, [ALONE]), result.stderr
    assert result.stdout.startswith("ok:")


def test_an_empty_environment_gets_one_line_per_missing_variable() -> None:
    result = check()
    assert result.returncode == EXIT_FAILURE
    lines = problems(result)
    assert len(lines) == 2, lines
    assert lines[0].startswith("DATABASE_URL: not set; set it to the Postgres URL")
    assert "STRIPE_WEBHOOK_SECRET" in lines[1] and "set the signing secret of at least one endpoint" in lines[1]


def test_a_wrong_database_url_is_named_with_the_fix() -> None:
    nobody = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    result = check(DATABASE_URL=nobody, STRIPE_WEBHOOK_SECRET=STRIPE_SECRET)
    assert result.returncode == EXIT_FAILURE
    (line,) = problems(result)
    assert line.startswith("DATABASE_URL: cannot connect (")
    assert "is Postgres up, and are the host, port, database, user and password in DATABASE_URL right?" in line


def test_an_unmigrated_database_and_fsync_off_are_both_reported(database_url: str) -> None:
    """The tests' shared server runs with fsync=off; a fresh database in it has no schema."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS check_unmigrated")
        conn.execute("CREATE DATABASE check_unmigrated")
    unmigrated = database_url.rsplit("/", 1)[0] + "/check_unmigrated"
    result = check(DATABASE_URL=unmigrated, STRIPE_WEBHOOK_SECRET=STRIPE_SECRET)
    assert result.returncode == EXIT_FAILURE
    lines = problems(result)
    assert len(lines) == 3, lines
    assert lines[0].startswith("DATABASE_URL: the database lacks migrations 0001_webhook_events, ")
    assert lines[0].endswith("run `webhook-server migrate` with the same DATABASE_URL")
    assert lines[1].startswith("DATABASE_URL: the Postgres server runs with fsync=off")
    assert lines[2] == ALONE


def test_a_role_default_of_synchronous_commit_off_is_overridden(durable_db: str) -> None:
    """A role's default of off does not reach the server's sessions (db.connection_kwargs pins on)."""
    with psycopg.connect(durable_db, autocommit=True) as conn:
        conn.execute("ALTER ROLE CURRENT_USER SET synchronous_commit = off")
    try:
        with psycopg.connect(durable_db) as conn:
            assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)  # the default took
        result = check(DATABASE_URL=durable_db, STRIPE_WEBHOOK_SECRET=STRIPE_SECRET)
    finally:
        with psycopg.connect(durable_db, autocommit=True) as conn:
            conn.execute("ALTER ROLE CURRENT_USER RESET synchronous_commit")
    assert (result.returncode, problems(result)) == (EXIT_OK, [ALONE]), result.stderr


def test_a_day_without_its_partition_is_reported_with_the_fix(database_url: str) -> None:
    """Tomorrow's partition missing (no worker for a week): events arriving then would be refused."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS check_no_day")
        conn.execute("CREATE DATABASE check_no_day")
    url = database_url.rsplit("/", 1)[0] + "/check_no_day"
    migrate(url)
    tomorrow = f"{datetime.now(UTC) + timedelta(days=1):%Y%m%d}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE webhook_events_p{tomorrow}, webhook_event_attempts_p{tomorrow}")
    result = check(DATABASE_URL=url, STRIPE_WEBHOOK_SECRET=STRIPE_SECRET)
    lines = [line for line in problems(result) if line != ALONE]
    assert [line for line in lines if "partition" in line] == [
        next(line for line in lines if line.startswith("DATABASE_URL: no partition of webhook_events holds "))
    ]
    assert lines[0].endswith("start a worker: every hour it makes the partitions of the week ahead")
    with psycopg.connect(url, autocommit=True) as conn:
        partitions.ensure(conn)
    assert not [
        line for line in problems(check(DATABASE_URL=url, STRIPE_WEBHOOK_SECRET=STRIPE_SECRET)) if "partition" in line
    ]
