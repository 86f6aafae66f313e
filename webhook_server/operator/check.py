"""``webhook-server check``: can this environment serve? Run it with a release's environment
before deploying it (scripts/rolling-deploy does).

Exit 0 when the settings are valid (at least one endpoint among them), the database is
reachable with DATABASE_URL, its schema is current, a partition holds today and tomorrow
(a worker makes them ahead) and commits there are durable
(``synchronous_commit`` on in the server's sessions, ``fsync`` on at the server). Otherwise
one line per problem on stderr, each naming the variable and the fix, and exit 1.

It also warns, on stderr and without changing the exit code, when a failover could lose events
already acknowledged: no standby at all (a single server), standbys that replicate
asynchronously, or synchronous standbys configured of which none is connected
(docs/how-to/high-availability.md). Most deployments start with one server; a warning says
what is at stake without failing their deploys.
"""

from __future__ import annotations

import os
import sys

import click
import psycopg

from webhook_server import db, migrations, sql
from webhook_server.errors import EXIT_FAILURE, EXIT_OK, ConfigError
from webhook_server.settings import Settings

DATABASE_VARIABLE = "DATABASE_URL"
# A stand-in while the other settings are validated, so that a missing DATABASE_URL does not
# hide every problem after it: Settings.from_env stops at the first.
_PLACEHOLDER_URL = "postgresql://placeholder/check"


@click.command()
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Longest wait for the database, in seconds.",
)
def check(timeout: float) -> None:
    """Exit 0 if this environment can serve; else print each problem with its fix and exit 1.

    Checks the settings (DATABASE_URL, the schemes' secrets, WEBHOOK_*), that DATABASE_URL
    reaches Postgres (the primary), that the schema is current and that commits there are
    durable; warns when a failover could lose acknowledged events.
    """
    problems = settings_problems(dict(os.environ))
    warnings: list[str] = []
    database_url = os.environ.get(DATABASE_VARIABLE)
    if database_url:
        database, warnings = database_problems(database_url, timeout=timeout)
        problems += database
    for problem in problems:
        click.echo(problem, err=True)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if not problems:
        click.echo("ok: settings valid, database reachable, schema current, commits durable")
    sys.exit(EXIT_FAILURE if problems else EXIT_OK)


def settings_problems(environ: dict[str, str]) -> list[str]:
    problems = []
    if not environ.get(DATABASE_VARIABLE):
        problems.append(
            f"{DATABASE_VARIABLE}: not set; set it to the Postgres URL, e.g. postgresql://user:pass@host:5432/webhooks"
        )
    try:
        Settings.from_env({**environ, DATABASE_VARIABLE: environ.get(DATABASE_VARIABLE) or _PLACEHOLDER_URL})
    except ConfigError as exc:
        problems.append(str(exc))
    return problems


def database_problems(database_url: str, *, timeout: float) -> tuple[list[str], list[str]]:
    """Reach the database on a connection made as the server makes its own (db.connect);
    return the problems, then the warnings about a failover."""
    try:
        conn = db.connect(database_url, timeout=timeout)
    except ConfigError:  # a wrong WEBHOOK_DB_POOLER: settings_problems has named it
        return [], []
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        return [
            f"{DATABASE_VARIABLE}: cannot connect ({reason}); is Postgres up, and are the host, port, "
            f"database, user and password in {DATABASE_VARIABLE} right?"
        ], []
    problems = []
    try:
        with conn:
            missing = migrations.missing(conn)
            durability = db.durability(conn)
            replication = db.replication(conn)
            unpartitioned = (
                [] if missing else [moment for (moment,) in conn.execute(sql.query("days_without_partition"))]
            )
    except psycopg.Error as exc:
        return [f"{DATABASE_VARIABLE}: the database refused a read-only query ({exc}); check the user's privileges"], []
    if replication.standby:
        problems.append(
            f"{DATABASE_VARIABLE}: it reaches a standby, which refuses writes; point it at the primary: HAProxy's "
            "postgres frontend (deploy/patroni/haproxy-postgres.cfg), or a multi-host URL with "
            "target_session_attrs=read-write"
        )
    if missing:
        problems.append(f"{DATABASE_VARIABLE}: {migrations.missing_message(missing)}")
    if unpartitioned:
        problems.append(
            f"{DATABASE_VARIABLE}: no partition of webhook_events holds {unpartitioned[0]:%Y-%m-%d %H:%M} UTC, so "
            "events arriving then are refused; start a worker: every hour it makes the partitions of the week ahead"
        )
    if durability.get("synchronous_commit") not in db.DURABLE_COMMIT_LEVELS:
        fix = (
            f"with {db.POOLER_VARIABLE}=transaction it comes from the role: ALTER ROLE <the user of "
            f"{DATABASE_VARIABLE}> SET synchronous_commit = on (docs/how-to/pgbouncer.md)"
            if db.pooled()
            else "they ask for on, so a pooler between them drops startup options: connect directly, or set "
            f"{db.POOLER_VARIABLE}=transaction and the role's settings (docs/how-to/pgbouncer.md)"
        )
        problems.append(
            f"{DATABASE_VARIABLE}: synchronous_commit is {durability.get('synchronous_commit')!r} in the server's "
            "sessions, so a commit can be acknowledged before it is on disk (and on the synchronous standby); " + fix
        )
    if durability.get("fsync") != "on":
        problems.append(
            f"{DATABASE_VARIABLE}: the Postgres server runs with fsync={durability.get('fsync')}, so a crash loses "
            "committed events; set fsync = on in its postgresql.conf and reload it"
        )
    return problems, [] if replication.standby else failover_warnings(replication)


def failover_warnings(replication: db.Replication) -> list[str]:
    """Why a failover from this primary could lose events it acknowledged, if it could."""
    guide = "docs/how-to/high-availability.md"
    if replication.streaming == 0 and not replication.synchronous_standby_names:
        return [
            f"{DATABASE_VARIABLE}: no standby replicates from this server: if it is lost, so is every event it "
            f"acknowledged, and nothing can take over; {guide} sets up three members with Patroni"
        ]
    if not replication.synchronous_standby_names:
        return [
            f"{DATABASE_VARIABLE}: {replication.streaming} standby(s) replicate from this server asynchronously "
            "(synchronous_standby_names is empty): promoting one can lose events already acknowledged; set "
            f"synchronous_mode: true in Patroni (deploy/patroni/patroni.yml) or synchronous_standby_names ({guide})"
        ]
    if replication.synchronous == 0 and replication.hidden == 0:
        return [
            f"{DATABASE_VARIABLE}: synchronous_standby_names is {replication.synchronous_standby_names!r} but no "
            "standby is synchronous now: every commit waits until one connects (deliveries are spooled meanwhile); "
            "start the standbys, or let Patroni manage synchronous_standby_names (synchronous_mode: true)"
        ]
    return []
