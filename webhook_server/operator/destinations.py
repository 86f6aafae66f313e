"""``webhook-server destinations list | resume | replay | remove``: the forwarder's destinations, by hand.

They act on the database only (the forwarders' shared state is there), so they run wherever
DATABASE_URL reaches, with or without the destinations file; a resume or a replay wakes every
forwarder through the NOTIFY of new events.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import click

from webhook_server.durations import SINCE_HELP
from webhook_server.errors import EXIT_FAILURE
from webhook_server.operator import output, queries
from webhook_server.operator.commands import Since, database, database_url_option, json_option, operator_name

UNKNOWN = "no destination {!r}; `webhook-server destinations list` shows those the forwarders registered"


@click.group()
def destinations() -> None:
    """See, resume and replay the destinations `webhook-server forward` sends events to."""


@destinations.command("list")
@json_option
@database_url_option
def list_destinations(as_json: bool, database_url: str) -> None:
    """Every registered destination: paused or not (and why), its oldest due delivery, its dead ones."""
    with database(database_url) as conn:
        found = queries.destination_states(conn)
    if as_json:
        output.echo_json([asdict(state) for state in found])
        return
    if not found:
        click.echo("no destination yet: `webhook-server forward` registers those of WEBHOOK_DESTINATIONS_FILE")
        return
    rows = [
        (
            s.name,
            f"paused since {output.utc(s.paused_at)}" if s.paused_at else "active",
            f"{s.oldest_due:.0f} s",
            s.dead,
            output.short_error(s.paused_reason) if s.paused_reason else "-",
        )
        for s in found
    ]
    click.echo(output.table(("DESTINATION", "STATE", "OLDEST DUE", "DEAD", "WHY PAUSED"), rows))


@destinations.command()
@click.argument("name")
@database_url_option
def resume(name: str, database_url: str) -> None:
    """Resume destination NAME (paused after sustained failure): its waiting deliveries are due at once."""
    with database(database_url) as conn:
        due = queries.resume_destination(conn, name)
    if due is None:
        raise click.ClickException(UNKNOWN.format(name))
    click.echo(f"{name}: resumed; {due} waiting deliveries are due now")


@destinations.command()
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask: the waiting and dead deliveries are deleted too.")
@database_url_option
def remove(name: str, yes: bool, database_url: str) -> None:
    """Forget destination NAME, taken out of WEBHOOK_DESTINATIONS_FILE, with its deliveries and their history.

    Restart the forwarders on the new file first: a running one still sends to NAME and registers
    it again at its next start.
    """
    if not yes:
        click.confirm(f"delete destination {name!r} and every delivery to it (waiting and dead ones too)?", abort=True)
    with database(database_url) as conn:
        deleted = queries.remove_destination(conn, name)
    if deleted is None:
        raise click.ClickException(UNKNOWN.format(name))
    click.echo(f"{name}: removed, with {deleted} deliveries")


@destinations.command()
@click.argument("name")
@click.option("--event", "event_id", help="The sender's event id to send again (or for the first time).")
@click.option("--dead", is_flag=True, help="Every dead delivery of NAME created since --since (until --until).")
@click.option("--since", type=Since(), help=f"With --dead: from then on: {SINCE_HELP}.")
@click.option("--until", type=Since(), help="With --dead: before then (default: now); the same forms as --since.")
@database_url_option
def replay(
    name: str, event_id: str | None, dead: bool, since: datetime | None, until: datetime | None, database_url: str
) -> None:
    """Send one event, or the dead deliveries of a time range, to destination NAME again.

    The delivery is due at once with its attempts counted from 0; its history keeps what came
    before. A delivery whose attempt is running is left alone.
    """
    if (event_id is None) != dead:
        raise click.UsageError("give either --event ID, or --dead with --since")
    if dead and since is None:
        raise click.UsageError("--dead needs --since: a duration such as 3d, or a timestamp")
    if not dead and (since or until):
        raise click.UsageError("--since and --until go with --dead")
    with database(database_url) as conn:
        count = queries.replay_deliveries(
            conn,
            name,
            by=operator_name("webhook-server destinations replay"),
            event_id=event_id,
            since=since,
            until=until or datetime.now(UTC),
        )
    if count is None:
        raise click.ClickException(UNKNOWN.format(name))
    if count == 0:
        what = f"event {event_id!r} is not stored, or its attempt is running" if event_id else "no dead delivery then"
        click.echo(f"{name}: nothing replayed ({what})", err=True)
        raise SystemExit(EXIT_FAILURE)
    click.echo(f"{name}: {count} deliveries due now")
