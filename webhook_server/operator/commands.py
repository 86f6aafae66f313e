"""Operator commands: ``events list|show``, ``replay``, ``stats``, ``reconcile stripe``, ``check`` (check.py).

Tables for people by default, ``--json`` for scripts. Every command reads DATABASE_URL,
waits a bounded time for the database, and says which command fixes a missing schema.
"""

from __future__ import annotations

import functools
import getpass
import json
import os
import socket
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import click
import psycopg
import stripe
from click.core import ParameterSource

from webhook_server import db, endpoints_file
from webhook_server.durations import SINCE_HELP, parse_since
from webhook_server.environment import secret_text
from webhook_server.errors import EXIT_DATABASE, EXIT_FAILURE, ConfigError, DatabaseUnavailable
from webhook_server.operator import output, queries, reconcile_github, reconcile_stripe
from webhook_server.operator.check import check
from webhook_server.retention.prune import DEFAULT_RETENTION, DEFAULT_STATUSES, parse_age, prune
from webhook_server.safe_text import holdable, printable
from webhook_server.schemes.stripe import StripeVerifier
from webhook_server.settings import SECRET_VARIABLES
from webhook_server.spool.store import Summary, read_summary

API_KEY_VARIABLE = "STRIPE_API_KEY"

F = TypeVar("F", bound=Callable[..., Any])


class DatabaseProblem(click.ClickException):
    """The database is unreachable, unmigrated or failed a statement: exit 69 like `serve`."""

    exit_code = EXIT_DATABASE


class Since(click.ParamType):
    """``--since`` for every command: a duration back from now or an ISO 8601 timestamp."""

    name = "SINCE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_since(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class Name(click.ParamType):
    """A scheme, endpoint, type or event id to look for. One that Postgres' text cannot hold (a
    NUL, or bytes that are not UTF-8, which argv carries as surrogates) matches nothing stored; it
    is refused here rather than failing in the database driver."""

    name = "TEXT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if not holdable(text):
            self.fail(f"'{printable(text)}' matches no event: it holds a NUL or bytes that are not UTF-8")
        return text


NAME = Name()


def read_secret(variable: str) -> str | None:
    """A secret from ``NAME``, ``NAME_FILE`` or the systemd credential ``NAME`` (webhook_server.environment)."""
    try:
        return secret_text(os.environ, variable) or None
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


# Where a fresh shell gets DATABASE_URL on a developer's machine: "Missing option" alone did not say.
DEV_DATABASE_HINT = "For the database of `webhook-server dev`, run `source .webhook-dev/env` first."


def secret_option(name: str, variable: str, *, required: bool, help: str, hint: str = "") -> Callable[[F], F]:
    """An option whose value defaults to the secret ``variable``, read from any of its sources;
    ``hint`` is added to the error when a required one is missing."""

    def fill(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        value = value or read_secret(variable)
        if value is None and required:
            raise click.MissingParameter(hint or None, ctx=ctx, param=param)
        return value

    return click.option(name, envvar=variable, show_envvar=True, callback=fill, help=help)


def database_url_option(command: F) -> F:
    return secret_option(
        "--database-url",
        "DATABASE_URL",
        required=True,
        help="Postgres URL of the inbox (or DATABASE_URL_FILE, or a systemd credential).",
        hint=DEV_DATABASE_HINT,
    )(command)


def endpoint_option(command: F) -> F:
    return click.option(
        "--endpoint",
        type=NAME,
        help="Only events that came to this endpoint (/webhooks/<endpoint>: stripe, or a WEBHOOK_ENDPOINTS_FILE name).",
    )(command)


def scheme_option(help_text: str) -> Callable[[F], F]:
    """``--scheme``, and ``--provider``: its name before 0.1.0, hidden, working until 0.2.0 (CHANGELOG)."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def run(*args: Any, provider: str | None, **kwargs: Any) -> Any:
            if provider is not None:
                click.echo("webhook-server: --provider is deprecated and goes in 0.2.0: use --scheme", err=True)
                kwargs["scheme"] = kwargs["scheme"] or provider
            return command(*args, **kwargs)

        run = click.option("--provider", type=NAME, hidden=True, help="Deprecated: use --scheme.")(run)
        return cast(F, click.option("--scheme", type=NAME, help=help_text)(run))

    return decorate


def json_option(command: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document, for scripts.")(command)


@contextmanager
def database(database_url: str) -> Iterator[psycopg.Connection]:
    """A migrated connection, or a DatabaseProblem whose message says what to do."""
    try:
        with queries.connect(database_url) as conn:
            yield conn
    except ConfigError as exc:  # WEBHOOK_DB_POOLER
        raise click.UsageError(str(exc)) from None
    except (DatabaseUnavailable, queries.SchemaNotReady) as exc:
        raise DatabaseProblem(str(exc)) from None
    except psycopg.Error as exc:
        raise DatabaseProblem(f"the database failed: {str(exc).strip()}") from None


@contextmanager
def reading(database_url: str) -> Iterator[psycopg.Connection]:
    """``database`` on the replica of WEBHOOK_READ_DATABASE_URL when it is set, for what only reads;
    its problems then say which URL failed."""
    url = db.read_url(database_url)
    try:
        with database(url) as conn:
            yield conn
    except DatabaseProblem as exc:
        if url == database_url:
            raise
        raise DatabaseProblem(
            f"{exc.message} (read from {db.READ_URL_VARIABLE}: fix it, or unset it to read DATABASE_URL)"
        ) from None


def operator_name(command: str = "webhook-server replay") -> str:
    """Who runs ``command``, for the history a replay marks: user@host (command)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a uid without a name (containers) and no USER variable
        user = f"uid {os.getuid()}"
    return f"{user}@{socket.gethostname()} ({command})"


@click.group()
def events() -> None:
    """Look at stored events."""


@events.command("list")
@click.option("--status", type=click.Choice(queries.STATUSES), help="Only events in this status.")
@scheme_option("Only events of this scheme (stripe: every Stripe endpoint; …).")
@endpoint_option
@click.option("--type", "event_type", type=NAME, help="Only events of this type (invoice.paid, …).")
@click.option("--since", type=Since(), help=f"Only events received since then: {SINCE_HELP}.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="At most this many, newest first.")
@json_option
@database_url_option
def list_events(
    status: str | None,
    scheme: str | None,
    endpoint: str | None,
    event_type: str | None,
    since: datetime | None,
    limit: int,
    as_json: bool,
    database_url: str,
) -> None:
    """List events, newest first."""
    where = queries.EventFilter(status, scheme, event_type, since, endpoint=endpoint)
    with reading(database_url) as conn:
        found = queries.list_events(conn, where, limit=limit)
    if as_json:
        output.echo_json([asdict(event) for event in found])
        return
    if not found:
        click.echo("no events match")
        return
    headers = ("ID", "SCHEME", "ENDPOINT", "EVENT ID", "TYPE", "STATUS", "ATTEMPTS", "RECEIVED", "LAST ERROR")
    rows = [
        (
            e.id,
            e.scheme,
            e.endpoint,
            e.event_id,
            e.event_type,
            e.status,
            e.attempts,
            output.utc(e.received_at),
            output.short_error(e.last_error),
        )
        for e in found
    ]
    click.echo(output.table(headers, rows))


@events.command("show")
@click.argument("ident", metavar="ID", type=NAME)
@scheme_option("The scheme, when the same event id exists under two.")
@click.option("--raw", is_flag=True, help="Print only the request body, byte for byte as it was signed.")
@json_option
@database_url_option
def show_event(ident: str, scheme: str | None, raw: bool, as_json: bool, database_url: str) -> None:
    """Show one event: status, attempts, last error, the history of every attempt, and payload.

    ID is the sender's event id (evt_… for Stripe: the EVENT ID column of `events list`);
    a number is also looked up as the row id (the ID column).
    """
    with reading(database_url) as conn:
        found = queries.find_events(conn, ident, scheme=scheme)
        if not found:
            raise click.ClickException(f"no event {ident!r}; `webhook-server events list` shows the stored ones")
        if len(found) > 1:
            matches = ", ".join(f"{e.scheme} {e.event_id} (row {e.id})" for e in found)
            raise click.ClickException(f"{ident!r} matches {matches}: pass --scheme, or the row id")
        event = found[0]
        attempts = queries.history(conn, event.id)
        deliveries = queries.deliveries(conn, event.id)
    if raw:
        _echo_body(event)
        return
    if as_json:
        shown = {key: value for key, value in asdict(event).items() if key != "body"}
        output.echo_json(
            {**shown, "history": [asdict(a) for a in attempts], "deliveries": [asdict(d) for d in deliveries]}
        )
        return
    fields = [
        ("row id", event.id),
        ("scheme", event.scheme),
        ("endpoint", event.endpoint),
        ("event id", event.event_id),
        ("type", event.event_type),
        ("status", event.status),
        ("attempts", event.attempts),
        ("received at", output.utc(event.received_at)),
        ("next attempt at", output.utc(event.next_attempt_at) if event.status in ("pending", "failed") else "-"),
        ("processed at", output.utc(event.processed_at)),
        ("locked by", f"{event.locked_by} until {output.utc(event.locked_until)}" if event.locked_by else "-"),
        ("last error", event.last_error or "-"),
    ]
    click.echo(output.table(None, [(f"{name}:", value) for name, value in fields]))
    click.echo("headers:" + ("" if event.headers else " -"))
    for name, value in sorted(event.headers.items()):
        click.echo(printable(f"  {name}: {value}"))
    click.echo("history:" if attempts else "history: no attempt yet")
    if attempts:
        headers = ("ATTEMPT", "OUTCOME", "WORKER", "STARTED", "FINISHED", "ERROR")
        rows = [
            (
                a.attempt,
                a.outcome,
                a.worker,
                output.utc(a.started_at),
                output.utc(a.finished_at),
                output.short_error(a.error),
            )
            for a in attempts
        ]
        click.echo(output.table(headers, rows))
    if deliveries:
        click.echo("deliveries to destinations:")
        _echo_deliveries(deliveries)
    click.echo("payload:")
    click.echo(output.pretty_json(event.payload))


def _echo_deliveries(deliveries: list[queries.DeliveryAttempt]) -> None:
    """One row per attempt to each destination (`webhook-server forward`), a delivery not tried yet as one."""
    headers = ("DESTINATION", "STATUS", "ATTEMPT", "OUTCOME", "HTTP", "SECONDS", "STARTED", "ANSWER OR ERROR")
    rows = [
        (
            d.destination,
            d.delivery_status,
            "-" if d.attempt is None else d.attempt,
            d.outcome or "-",
            d.status_code or "-",
            "-" if d.latency is None else f"{d.latency:.3f}",
            output.utc(d.started_at),
            output.short_error(d.detail) if d.detail else "-",
        )
        for d in deliveries
    ]
    click.echo(output.table(headers, rows))


def _echo_body(event: queries.EventDetail) -> None:
    """The signed bytes on stdout, nothing added; rows older than the body column have only their jsonb."""
    if event.body is None:
        click.echo(
            "note: stored before migration 0003, which keeps the signed bytes; printing the stored jsonb instead",
            err=True,
        )
        body = json.dumps(event.payload, ensure_ascii=False).encode()
    else:
        body = event.body
    stdout = sys.stdout.buffer
    stdout.write(body)
    stdout.flush()


@click.command()
@click.argument("event_ids", nargs=-1, metavar="[EVENT_ID]...", type=NAME)
@click.option(
    "--status",
    type=click.Choice(queries.REPLAYABLE_STATUSES),
    help="Replay every event in this status (with EVENT_IDs: only those of them in it).",
)
@scheme_option("Only events of this scheme.")
@endpoint_option
@click.option("--type", "event_type", type=NAME, help="Only events of this type.")
@click.option("--since", type=Since(), help=f"Only events received since then: {SINCE_HELP}.")
@json_option
@database_url_option
def replay(
    event_ids: tuple[str, ...],
    status: str | None,
    scheme: str | None,
    endpoint: str | None,
    event_type: str | None,
    since: datetime | None,
    as_json: bool,
    database_url: str,
) -> None:
    """Put events back to pending with attempts reset, and wake the workers.

    EVENT_ID is the sender's event id (evt_… for Stripe), in any status; or select by
    `--status dead` (failed, skipped), optionally `--since 3d`. An event a worker is processing
    right now is left alone. Its last error stays visible until the next attempt replaces it.
    Exits 1 if a listed id was not replayed.
    """
    if not event_ids and status is None:
        raise click.UsageError("name the events: EVENT_ID… or --status dead")
    where = queries.EventFilter(status, scheme, event_type, since, endpoint=endpoint)
    with database(database_url) as conn:
        result = queries.replay(conn, by=operator_name(), event_ids=event_ids, where=where)
    if as_json:
        output.echo_json(
            {
                "replayed": len(result.replayed),
                "event_ids": [event_id for _, event_id in result.replayed],
                "leased": [asdict(e) for e in result.leased],
                "not_found": result.unknown,
            }
        )
    else:
        click.echo(f"replayed {len(result.replayed)} event{'' if len(result.replayed) == 1 else 's'}")
        for leased in result.leased:
            click.echo(
                f"not replayed: {leased.event_id} is being processed by {leased.locked_by} "
                f"(lease until {output.utc(leased.locked_until)}); try again after it",
                err=True,
            )
        for event_id in result.unknown:
            filtered = " matching the filters" if where != queries.EventFilter() else ""
            click.echo(f"not replayed: no event {event_id}{filtered}", err=True)
    if result.leased or result.unknown:
        sys.exit(EXIT_FAILURE)


@click.command()
@endpoint_option
@click.option(
    "--spool-dir",
    envvar="WEBHOOK_SPOOL_DIR",
    show_envvar=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="This host's spool (the server's WEBHOOK_SPOOL_DIR): also show the events waiting in it.",
)
@json_option
@database_url_option
def stats(endpoint: str | None, spool_dir: Path | None, as_json: bool, database_url: str) -> None:
    """Counts by status and endpoint, oldest pending age, processing rate, skipped types; and this
    host's spool.

    The oldest pending age counts from when the event became due: its arrival, or its replay.
    The rate counts events that reached done, dead or skipped. Skipped types are those no
    worker had a handler for (`replay --status skipped` runs them again). Pending, failed and
    dead are exact; on a table of over a million rows done and skipped are estimated from a
    sample (marked with *), since counting them would read every row, and the skipped types
    are those received in the last day. With WEBHOOK_SPOOL_DIR set (as on the server's host),
    also the events spooled on this host and not yet in Postgres, shown even when the database
    cannot be reached. Run it as the server's user or as root.
    """
    try:
        spool = None if spool_dir is None else read_summary(spool_dir)
    except sqlite3.Error as exc:
        raise click.ClickException(f"cannot read the spool in {spool_dir}: {exc}; run as the server's user") from None
    try:
        with reading(database_url) as conn:
            found = queries.stats(conn, endpoint=endpoint)
            lag = db.replica_lag(conn)
    except DatabaseProblem:
        if spool is not None and not as_json:
            click.echo(_spool_line(spool_dir, spool))
        raise
    if as_json:
        output.echo_json(
            {
                "counts": found.counts,
                "totals": {status: found.total(status) for status in queries.STATUSES},
                "estimated": list(found.estimated),
                "sample_percent": found.sample_percent,
                "oldest_pending_seconds": None
                if found.oldest_pending is None
                else found.oldest_pending.total_seconds(),
                "processed_last_minute": found.processed_last_minute,
                "processed_last_hour": found.processed_last_hour,
                "skipped_types": [asdict(skipped) for skipped in found.skipped_types],
                "skipped_types_since": found.skipped_since,
                "spool": None if spool is None else {"events": spool.events, "oldest_seconds": spool.oldest_age},
                "replica_lag_seconds": lag,
            }
        )
        return
    endpoints = sorted(found.counts)
    headers = ("STATUS", *(name.upper() for name in endpoints), "TOTAL")
    rows = [
        (
            f"{status}*" if status in found.estimated else status,
            *(found.counts[name].get(status, 0) for name in endpoints),
            found.total(status),
        )
        for status in queries.STATUSES
    ]
    click.echo(output.table(headers, rows))
    if found.estimated:
        click.echo(
            f"* estimated from a {found.sample_percent:.2g}% sample of the table's pages "
            "(an exact count would read every row)"
        )
    oldest = found.oldest_pending
    click.echo(f"oldest pending: {'-' if oldest is None else 'due for ' + output.age(oldest)}")
    # The rate is the hour's: "9 in the last minute (0.1/min)" read as a contradiction.
    click.echo(
        f"processed: {found.processed_last_minute} in the last minute, {found.processed_last_hour} in the last hour "
        f"({found.processed_last_hour / 60:.2g}/min averaged over the hour)"
    )
    if found.skipped_types:
        since = "" if found.skipped_since is None else f" (received since {output.utc(found.skipped_since)})"
        click.echo(f"skipped, no handler{since}:")
        rows = [(s.scheme, s.event_type, s.events, output.utc(s.last_received_at)) for s in found.skipped_types]
        click.echo(output.table(("SCHEME", "TYPE", "EVENTS", "LAST RECEIVED"), rows))
    if spool is not None:
        click.echo(_spool_line(spool_dir, spool))
    if lag is not None:
        click.echo(f"read from a replica ({db.READ_URL_VARIABLE}), {lag:.1f} s behind the primary")


def _spool_line(directory: Path | None, spool: Summary) -> str:
    oldest = "" if spool.oldest_age is None else f", oldest {output.age(timedelta(seconds=spool.oldest_age))} old"
    return f"spooled on this host, not yet in Postgres: {spool.events}{oldest} ({directory})"


@click.group("reconcile")
def reconcile_group() -> None:
    """Fetch events the webhooks missed from the sender's API."""


@reconcile_group.command("stripe")
@click.option(
    "--since",
    type=Since(),
    default="3d",
    show_default=True,
    help=f"Events created since then, at most 30 days back (what Stripe keeps): {SINCE_HELP}.",
)
@click.option(
    "--undelivered-only",
    is_flag=True,
    help="Only events Stripe has not delivered to at least one endpoint (delivery_success=false).",
)
@click.option(
    "--type",
    "types",
    multiple=True,
    type=NAME,
    help=f"Only events of this type; repeat for more (at most {reconcile_stripe.MAX_TYPES}), e.g. the endpoint's "
    "events.",
)
@click.option(
    "--endpoint",
    default=StripeVerifier.name,
    show_default=True,
    help="The Stripe endpoint whose account is listed and which the events are stored under: with a name of "
    "WEBHOOK_ENDPOINTS_FILE, the API key is read from its api_key_env.",
)
@secret_option(
    "--api-key",
    API_KEY_VARIABLE,
    required=False,
    help="A secret key, or a restricted key with read access to Events (enough). Prefer the variable "
    "(or STRIPE_API_KEY_FILE, or a systemd credential).",
)
@click.option(
    "--api-base",
    envvar="STRIPE_API_BASE",
    show_envvar=True,
    help="Another API address, for stripe-mock or a test double (default: Stripe's).",
)
@json_option
@database_url_option
def reconcile_stripe_command(
    since: datetime,
    undelivered_only: bool,
    types: tuple[str, ...],
    endpoint: str,
    api_key: str | None,
    api_base: str | None,
    as_json: bool,
    database_url: str,
) -> None:
    """Store every event in Stripe's Events API that the inbox lacks, as pending.

    Uses the same idempotent insert as ingest: a later webhook delivery of a reconciled event
    is a duplicate 200, and a second run inserts nothing. Prints found, inserted and
    already-present counts.
    """
    variable = API_KEY_VARIABLE
    explicit = click.get_current_context().get_parameter_source("api_key") == ParameterSource.COMMANDLINE
    if endpoint != StripeVerifier.name and not explicit:
        variable = _api_key_variable(endpoint)
        api_key = read_secret(variable)
    if not api_key:
        raise click.UsageError(
            f"no Stripe API key: set {variable} (a restricted key with read access to Events is enough)"
        )
    if len(types) > reconcile_stripe.MAX_TYPES:
        raise click.UsageError(
            f"Stripe filters on at most {reconcile_stripe.MAX_TYPES} event types at once; run it in parts"
        )
    oldest = datetime.now(UTC) - reconcile_stripe.STRIPE_RETENTION
    if since < oldest:
        click.echo(
            f"note: Stripe keeps events for 30 days; listing from {output.utc(oldest)}, "
            f"not {output.utc(since)}: older events cannot be fetched",
            err=True,
        )
        since = oldest
    client = reconcile_stripe.stripe_client(api_key, api_base=api_base)
    with database(database_url) as conn:
        try:
            result = reconcile_stripe.reconcile_stripe(
                conn, client, since=since, undelivered_only=undelivered_only, types=types, endpoint=endpoint
            )
        except stripe.AuthenticationError as exc:
            raise click.ClickException(f"Stripe refused the API key ({exc.user_message}); check {variable}") from None
        except stripe.PermissionError as exc:
            raise click.ClickException(
                f"the API key may not list events ({exc.user_message}); give it read access to Events"
            ) from None
        except stripe.APIConnectionError as exc:
            cause = str(exc).strip().splitlines()[-1]
            raise click.ClickException(
                f"cannot reach Stripe's API at {api_base or stripe.DEFAULT_API_BASE}: {cause}"
            ) from None
        except stripe.StripeError as exc:
            raise click.ClickException(f"Stripe's Events API failed: {exc.user_message or exc}") from None
    if as_json:
        output.echo_json(result.as_dict())
    else:
        click.echo(f"found {result.found}, inserted {result.inserted}, already present {result.already_present}")


@reconcile_group.command("github")
@click.option("--repo", metavar="OWNER/NAME", help="The repository whose hook it is (or --org).")
@click.option("--org", metavar="ORG", help="The organization whose hook it is (or --repo).")
@click.option("--hook-id", type=click.IntRange(1), required=True, help="The hook's id (in its settings page's URL).")
@click.option(
    "--since",
    type=Since(),
    default="3d",
    show_default=True,
    help=f"Deliveries since then, at most 3 days back (what GitHub keeps): {SINCE_HELP}.",
)
@click.option("--dry-run", is_flag=True, help="List what is missing; ask for no redelivery.")
@click.option(
    "--max-wait",
    type=click.FloatRange(0),
    default=reconcile_github.DEFAULT_MAX_WAIT_SECONDS,
    show_default=True,
    help="Longest rate-limit wait to sit out, in seconds; a longer one stops the run and says when to retry.",
)
@click.option(
    "--token",
    envvar="GITHUB_TOKEN",
    show_envvar=True,
    help="A token with the hook's webhooks permission (read and write). Prefer the variable.",
)
@click.option(
    "--api-base",
    envvar="GITHUB_API_BASE",
    show_envvar=True,
    default=reconcile_github.DEFAULT_API_BASE,
    show_default=True,
    help="GitHub's API address (GitHub Enterprise Server: https://HOST/api/v3).",
)
@json_option
@database_url_option
def reconcile_github_command(
    repo: str | None,
    org: str | None,
    hook_id: int,
    since: datetime,
    dry_run: bool,
    max_wait: float,
    token: str | None,
    api_base: str,
    as_json: bool,
    database_url: str,
) -> None:
    """Ask GitHub to redeliver each delivery of the hook that the inbox lacks, once.

    Lists the hook's deliveries since --since and, for every delivery guid with no stored
    github event, asks for one redelivery of its newest delivery; a stored guid is never
    redelivered. The events then arrive as webhooks. Prints found, missing and requested.
    """
    if (repo is None) == (org is None):
        raise click.UsageError("name the hook's owner: --repo OWNER/NAME or --org ORG (one of them)")
    if repo is not None and repo.count("/") != 1:
        raise click.BadParameter(f"{repo!r} is not OWNER/NAME", param_hint="--repo")
    if not token:
        raise click.UsageError("no GitHub token: set GITHUB_TOKEN (a token with the hook's webhooks permission)")
    oldest = datetime.now(UTC) - reconcile_github.GITHUB_RETENTION
    if since < oldest:
        click.echo(f"note: GitHub keeps deliveries for 3 days; listing from {output.utc(oldest)}", err=True)
        since = oldest
    hook = reconcile_github.Hook(hook_id, repo=repo, org=org)
    client = reconcile_github.GitHubClient(token, api_base=api_base, max_wait=max_wait)
    try:
        with database(database_url) as conn:
            result = reconcile_github.reconcile_github(conn, client, hook, since=since, dry_run=dry_run)
    finally:
        client.close()
    if as_json:
        output.echo_json(result.as_dict())
    else:
        would = f" (dry run: would request {len(result.missing)})" if dry_run else ""
        click.echo(f"found {result.found}, missing {len(result.missing)}, requested {len(result.requested)}{would}")
        for guid in result.missing if dry_run else ():
            click.echo(f"missing: {guid}")
    if result.error:
        click.echo(f"webhook-server: stopped early: {result.error}", err=True)
        sys.exit(EXIT_FAILURE)


@click.command("prune")
@click.option(
    "--older-than",
    default=DEFAULT_RETENTION,
    show_default=True,
    help="Delete events received longer ago than this duration (12h, 30d, 2w).",
)
@click.option(
    "--status",
    "extra_statuses",
    multiple=True,
    type=click.Choice(["dead"]),
    help="Also delete dead events (done and skipped ones always go; pending and failed never).",
)
@json_option
@database_url_option
def prune_command(older_than: str, extra_statuses: tuple[str, ...], as_json: bool, database_url: str) -> None:
    """Delete finished events: done and skipped (and dead with --status dead) received before then.

    Pending and failed events, and events a worker holds, are never deleted. Deletes in batches
    of short transactions, so ingest keeps going meanwhile; prints how many it deleted. The
    worker does the same every hour with WEBHOOK_RETENTION (default 30d).
    """
    try:
        age = parse_age(older_than)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    statuses = (*DEFAULT_STATUSES, *dict.fromkeys(extra_statuses))
    before = datetime.now(UTC) - age
    try:
        # Retention sets a session lock_timeout around each detach: not through a transaction pooler.
        database_url = db.session_url(database_url)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    with database(database_url) as conn:
        deleted = prune(conn, before=before, statuses=statuses)
    if as_json:
        output.echo_json({"deleted": deleted, "statuses": list(statuses), "received_before": before.isoformat()})
        return
    click.echo(
        f"deleted {deleted} event{'' if deleted == 1 else 's'} ({', '.join(statuses)}) "
        f"received before {output.utc(before)}"
    )


def _api_key_variable(endpoint: str) -> str:
    """The API key variable (``api_key_env``) of a Stripe endpoint of WEBHOOK_ENDPOINTS_FILE."""
    try:
        specs = endpoints_file.from_environ(os.environ, reserved=SECRET_VARIABLES, secrets_required=False)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    spec = next((spec for spec in specs if spec.name == endpoint), None)
    if spec is None:
        raise click.UsageError(
            f"no endpoint {endpoint!r} in {endpoints_file.VARIABLE}; "
            f"its Stripe endpoints: {', '.join(s.name for s in specs if s.scheme == 'stripe') or 'none'}"
        )
    if spec.scheme != StripeVerifier.name:
        raise click.UsageError(f"endpoint {endpoint!r} has scheme {spec.scheme!r}; reconcile stripe needs a Stripe one")
    if spec.api_key_variable is None:
        raise click.UsageError(
            f'endpoint {endpoint!r} has no api_key_env; add api_key_env = "<VARIABLE>" to its table in '
            f"{endpoints_file.VARIABLE} and set that variable to the account's API key"
        )
    return spec.api_key_variable


OPERATOR_COMMANDS: tuple[click.Command, ...] = (events, replay, stats, reconcile_group, prune_command, check)
