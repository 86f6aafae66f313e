"""The operator commands as processes: events list|show (--raw), replay, stats, reconcile stripe."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from flask.testing import FlaskClient

from tests import signers
from tests.acceptance.test_cli import CLI
from tests.conftest import STRIPE_SECRET, GunicornServer
from tests.fake_github import TOKEN, FakeGitHub
from tests.fake_stripe import API_KEY, FakeStripe
from tests.harness.postgres import make_day
from tests.integration.test_migrate import fresh_database
from tests.signers import stripe_event
from webhook_server.dev.localdb import free_port
from webhook_server.errors import EXIT_DATABASE
from webhook_server.inbox import IncomingEvent, insert_events
from webhook_server.settings import MIN_SPOOL_BYTES
from webhook_server.spool.store import Spool


def cli(*args: str, database_url: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    hidden = ("DATABASE_URL", "STRIPE_API_KEY", "STRIPE_API_BASE", "GITHUB_TOKEN", "GITHUB_API_BASE")
    environ = {k: v for k, v in os.environ.items() if k not in hidden}
    if database_url:
        environ["DATABASE_URL"] = database_url
    return subprocess.run([*CLI, *args], env={**environ, **env}, capture_output=True, text=True, timeout=60)


def store(database_url: str, event: dict, **columns: object) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        insert_events(conn, [IncomingEvent("stripe", event["id"], event["type"], json.dumps(event))])
        if isinstance(received_at := columns.get("received_at"), datetime):
            make_day(conn, received_at)
        for column, value in columns.items():
            conn.execute(f"UPDATE webhook_events SET {column} = %s WHERE event_id = %s", (value, event["id"]))


def status_and_attempts(database_url: str, event_id: str) -> tuple[str, int]:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT status, attempts FROM webhook_events WHERE event_id = %s", (event_id,)).fetchone()


def test_an_operator_finds_a_dead_event_reads_why_and_replays_it(clean_db: str) -> None:
    dead = stripe_event("invoice.paid", event_id="evt_dead_1")
    store(clean_db, dead, status="dead", attempts=8, last_error="billing answered 500\ntraceback …")
    store(clean_db, stripe_event(event_id="evt_done_1"), status="done", attempts=1)
    store(clean_db, stripe_event(event_id="evt_new_1"))

    listed = cli("events", "list", "--status", "dead", database_url=clean_db)
    assert listed.returncode == 0, listed.stderr
    header, line = listed.stdout.splitlines()
    assert header.split() == [
        "ID",
        "SCHEME",
        "ENDPOINT",
        "EVENT",
        "ID",
        "TYPE",
        "STATUS",
        "ATTEMPTS",
        "RECEIVED",
        "LAST",
        "ERROR",
    ]
    assert "evt_dead_1" in line and "invoice.paid" in line and "billing answered 500" in line
    assert "traceback" not in line  # the table shows the first line; `show` shows it all

    as_json = json.loads(cli("events", "list", "--json", database_url=clean_db).stdout)
    assert [e["event_id"] for e in as_json] == ["evt_new_1", "evt_done_1", "evt_dead_1"]
    assert as_json[2]["status"] == "dead" and as_json[2]["attempts"] == 8

    with psycopg.connect(clean_db, autocommit=True) as conn:  # what a worker's attempts leave
        conn.execute(
            "INSERT INTO webhook_event_attempts (event_row, event_received_at, attempt, worker, started_at, "
            "finished_at, outcome, error) SELECT id, received_at, n, 'host-a:41', now(), now(), "
            "(ARRAY['lost', 'timed_out'])[n], 'reason ' || n || E'\\nmore' "
            "FROM webhook_events, generate_series(1, 2) AS n WHERE event_id = 'evt_dead_1'"
        )
    shown = cli("events", "show", "evt_dead_1", database_url=clean_db)
    assert shown.returncode == 0, shown.stderr
    assert "traceback …" in shown.stdout
    history = shown.stdout.split("history:\n", 1)[1].split("payload:", 1)[0].splitlines()
    assert history[0].split() == ["ATTEMPT", "OUTCOME", "WORKER", "STARTED", "FINISHED", "ERROR"]
    assert [line.split()[:3] for line in history[1:]] == [["1", "lost", "host-a:41"], ["2", "timed_out", "host-a:41"]]
    assert history[1].endswith("reason 1") and "more" not in history[1]  # the error's first line
    assert json.loads(shown.stdout.split("payload:\n", 1)[1]) == dead
    shown_json = json.loads(cli("events", "show", "evt_dead_1", "--json", database_url=clean_db).stdout)
    assert shown_json["payload"] == dead
    assert [(a["attempt"], a["outcome"], a["error"]) for a in shown_json["history"]] == [
        (1, "lost", "reason 1\nmore"),
        (2, "timed_out", "reason 2\nmore"),
    ]

    replayed = cli("replay", "evt_dead_1", database_url=clean_db)
    assert (replayed.returncode, replayed.stdout.strip()) == (0, "replayed 1 event"), replayed.stderr
    assert status_and_attempts(clean_db, "evt_dead_1") == ("pending", 0)

    stats = cli("stats", database_url=clean_db)
    assert stats.returncode == 0, stats.stderr
    counts = {line.split()[0]: line.split()[1:] for line in stats.stdout.splitlines()[1:6]}
    assert counts == {
        "pending": ["2", "2"],
        "failed": ["0", "0"],
        "done": ["1", "1"],
        "dead": ["0", "0"],
        "skipped": ["0", "0"],
    }
    assert "oldest pending:" in stats.stdout and "in the last hour" in stats.stdout
    assert "skipped, no handler" not in stats.stdout
    assert json.loads(cli("stats", "--json", database_url=clean_db).stdout)["totals"]["pending"] == 2

    store(clean_db, stripe_event("payout.paid", event_id="evt_unhandled"), status="skipped")
    skipped = cli("stats", database_url=clean_db).stdout
    assert skipped.splitlines()[-2].split() == ["SCHEME", "TYPE", "EVENTS", "LAST", "RECEIVED"]
    assert skipped.splitlines()[-1].split()[:3] == ["stripe", "payout.paid", "1"]
    (listed,) = json.loads(cli("stats", "--json", database_url=clean_db).stdout)["skipped_types"]
    assert (listed["scheme"], listed["event_type"], listed["events"]) == ("stripe", "payout.paid", 1)


def test_stats_says_over_what_its_rate_is_averaged(clean_db: str) -> None:
    """It printed "9 in the last minute, 9 in the last hour (0.1/min)", which read as a contradiction."""
    for i in range(9):
        store(clean_db, stripe_event(event_id=f"evt_processed_{i}"), status="done", processed_at=datetime.now(UTC))
    stats = cli("stats", database_url=clean_db).stdout
    assert "processed: 9 in the last minute, 9 in the last hour (0.15/min averaged over the hour)" in stats


def test_replay_by_status_and_unknown_ids(clean_db: str) -> None:
    for i in range(3):
        store(clean_db, stripe_event(event_id=f"evt_dead_{i}"), status="dead", attempts=8)
    by_status = cli("replay", "--status", "dead", "--since", "1h", database_url=clean_db)
    assert (by_status.returncode, by_status.stdout.strip()) == (0, "replayed 3 events"), by_status.stderr
    assert {status_and_attempts(clean_db, f"evt_dead_{i}") for i in range(3)} == {("pending", 0)}

    unknown = cli("replay", "evt_dead_0", "evt_missing", database_url=clean_db)
    assert unknown.returncode == 1
    assert unknown.stdout.strip() == "replayed 1 event"
    assert "no event evt_missing" in unknown.stderr

    nothing = cli("replay", database_url=clean_db)
    assert nothing.returncode == 2 and "EVENT_ID… or --status dead" in nothing.stderr


def test_prune_deletes_old_finished_events_and_says_how_many(clean_db: str) -> None:
    old = datetime.now(UTC) - timedelta(days=31)
    for status in ("done", "skipped", "dead", "failed", "pending"):
        store(clean_db, stripe_event(event_id=f"evt_old_{status}"), status=status, received_at=old)
    store(clean_db, stripe_event(event_id="evt_recent_done"), status="done")

    pruned = cli("prune", "--older-than", "30d", database_url=clean_db)
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.startswith("deleted 2 events (done, skipped) received before ")
    with_dead = json.loads(cli("prune", "--status", "dead", "--json", database_url=clean_db).stdout)
    assert (with_dead["deleted"], with_dead["statuses"]) == (1, ["done", "skipped", "dead"])
    with psycopg.connect(clean_db) as conn:
        left = {row[0] for row in conn.execute("SELECT event_id FROM webhook_events")}
    assert left == {"evt_old_failed", "evt_old_pending", "evt_recent_done"}

    bad = cli("prune", "--older-than", "30", database_url=clean_db)
    assert bad.returncode == 2 and "not a positive duration" in bad.stderr


def test_reconcile_github_gets_the_missed_deliveries_redelivered_into_the_inbox(
    clean_db: str, fake_github: FakeGitHub, start_server: Callable[..., GunicornServer]
) -> None:
    server = start_server(GITHUB_WEBHOOK_SECRET="github-hook-secret")
    fake_github.deliver_to = (f"http://127.0.0.1:{server.port}/webhooks/github", "github-hook-secret")
    missed = [fake_github.deliver(ago=timedelta(minutes=10 - i)) for i in range(4)]
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_API_BASE": fake_github.url}
    hook = ("--repo", "acme/shop", "--hook-id", "7")

    dry = cli("reconcile", "github", *hook, "--dry-run", database_url=clean_db, **env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[0] == "found 4, missing 4, requested 0 (dry run: would request 4)"
    first = cli("reconcile", "github", *hook, "--since", "1h", database_url=clean_db, **env)
    assert (first.returncode, first.stdout.strip()) == (0, "found 4, missing 4, requested 4"), first.stderr
    with psycopg.connect(clean_db) as conn:
        stored = {row[0] for row in conn.execute("SELECT event_id FROM webhook_events WHERE provider = 'github'")}
    assert stored == set(missed)  # redelivered by the fake to the real server, signed, and stored
    again = json.loads(cli("reconcile", "github", *hook, "--json", database_url=clean_db, **env).stdout)
    assert (again["found"], again["missing"], again["requested"]) == (4, 0, 0)

    no_owner = cli("reconcile", "github", "--hook-id", "7", database_url=clean_db, **env)
    assert no_owner.returncode == 2 and "--repo OWNER/NAME or --org ORG" in no_owner.stderr
    no_token = cli("reconcile", "github", *hook, database_url=clean_db, GITHUB_API_BASE=fake_github.url)
    assert no_token.returncode == 2 and "set GITHUB_TOKEN" in no_token.stderr
    wrong = cli("reconcile", "github", *hook, database_url=clean_db, GITHUB_TOKEN="x", GITHUB_API_BASE=fake_github.url)
    assert wrong.returncode == 1 and "check GITHUB_TOKEN" in wrong.stderr
    assert wrong.stdout.strip() == "found 0, missing 0, requested 0"


def test_reconcile_stripe_stores_the_missing_events_once(clean_db: str, fake_stripe: FakeStripe) -> None:
    events = [stripe_event(event_id=f"evt_api_{i:03d}") for i in range(120)]
    for event in events:
        fake_stripe.add(event)
    store(clean_db, events[7])
    env = {"STRIPE_API_KEY": API_KEY, "STRIPE_API_BASE": fake_stripe.url}

    first = cli("reconcile", "stripe", "--since", "1h", database_url=clean_db, **env)
    assert (first.returncode, first.stdout.strip()) == (0, "found 120, inserted 119, already present 1"), first.stderr
    again = cli("reconcile", "stripe", "--json", database_url=clean_db, **env)
    assert json.loads(again.stdout) == {"found": 120, "inserted": 0, "already_present": 120}
    assert len(fake_stripe.queries) == 4  # two pages a run


def test_reconcile_explains_keys_and_stripes_30_days(clean_db: str, fake_stripe: FakeStripe) -> None:
    no_key = cli("reconcile", "stripe", database_url=clean_db)
    assert no_key.returncode == 2
    assert "set STRIPE_API_KEY (a restricted key with read access to Events is enough)" in no_key.stderr

    wrong_key = cli(
        "reconcile", "stripe", database_url=clean_db, STRIPE_API_KEY="rk_wrong", STRIPE_API_BASE=fake_stripe.url
    )
    assert wrong_key.returncode == 1 and "check STRIPE_API_KEY" in wrong_key.stderr

    no_stripe = cli(
        "reconcile",
        "stripe",
        database_url=clean_db,
        STRIPE_API_KEY=API_KEY,
        STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}",
    )
    assert no_stripe.returncode == 1 and "cannot reach Stripe's API at http://127.0.0.1:" in no_stripe.stderr

    too_far = cli(
        "reconcile",
        "stripe",
        "--since",
        "45d",
        database_url=clean_db,
        STRIPE_API_KEY=API_KEY,
        STRIPE_API_BASE=fake_stripe.url,
    )
    assert too_far.returncode == 0, too_far.stderr
    assert "Stripe keeps events for 30 days" in too_far.stderr
    assert too_far.stdout.strip() == "found 0, inserted 0, already present 0"


def test_stats_shows_this_hosts_spool_also_when_the_database_is_down(clean_db: str, tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=MIN_SPOOL_BYTES)
    for number in range(3):
        spool.put(IncomingEvent("stripe", f"evt_{number}", "invoice.paid", "{}"))
    spool.close()
    with sqlite3.connect(spool.path) as conn:  # spooled two hours ago
        conn.execute("UPDATE spooled_events SET spooled_at = spooled_at - 7200")
    result = cli("stats", database_url=clean_db, WEBHOOK_SPOOL_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert f"spooled on this host, not yet in Postgres: 3, oldest 2h 0m old ({tmp_path})" in result.stdout
    as_json = json.loads(cli("stats", "--json", database_url=clean_db, WEBHOOK_SPOOL_DIR=str(tmp_path)).stdout)
    assert as_json["spool"]["events"] == 3
    assert "spool" not in cli("stats", database_url=clean_db).stdout  # not set: not shown
    down = cli("stats", database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/x", WEBHOOK_SPOOL_DIR=str(tmp_path))
    assert down.returncode == EXIT_DATABASE
    assert "spooled on this host, not yet in Postgres: 3" in down.stdout


COMMANDS = [
    ("events", "list"),
    ("events", "show", "evt_1"),
    ("replay", "--status", "dead"),
    ("stats",),
    ("reconcile", "stripe"),
    ("prune",),
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unreachable_database_is_named_with_its_fix(command: tuple[str, ...]) -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    result = cli(*command, database_url=url, STRIPE_API_KEY=API_KEY)
    assert result.returncode == EXIT_DATABASE, result.stderr
    assert "cannot connect to the database" in result.stderr
    assert "is Postgres up and DATABASE_URL right?" in result.stderr


@pytest.mark.parametrize("command", COMMANDS[2:4], ids=" ".join)
def test_an_unmigrated_database_says_run_migrate(database_url: str, command: tuple[str, ...]) -> None:
    url = fresh_database(database_url, "operator_unmigrated")
    result = cli(*command, database_url=url)
    assert result.returncode == EXIT_DATABASE, result.stderr
    assert "run `webhook-server migrate`" in result.stderr


def test_no_database_url_and_a_bad_since_are_usage_errors() -> None:
    result = cli("stats")
    assert result.returncode == 2 and "DATABASE_URL" in result.stderr
    result = cli("events", "list", "--since", "yesterday", database_url="postgresql://unused")
    assert result.returncode == 2 and "neither a duration" in result.stderr
    too_many = [arg for i in range(21) for arg in ("--type", f"type.{i}")]
    result = cli("reconcile", "stripe", *too_many, database_url="postgresql://unused", STRIPE_API_KEY=API_KEY)
    assert result.returncode == 2 and "at most 20 event types" in result.stderr


def test_events_show_raw_prints_the_bytes_that_were_signed(client: FlaskClient, clean_db: str) -> None:
    """Through the ingest path, a body jsonb cannot hold (a NUL escape, a lone surrogate), with its
    own spacing and key order: --raw gives back exactly the signed bytes; the table view shows it."""
    event = stripe_event()
    body = json.dumps({"type": event["type"], "id": event["id"], "s": "nul \u0000 half \ud800"}, indent=3).encode()
    assert client.post("/webhooks/stripe", data=body, headers=signers.stripe(body, STRIPE_SECRET)).status_code == 200

    command = [*CLI, "events", "show", event["id"], "--raw"]
    raw = subprocess.run(command, env={**os.environ, "DATABASE_URL": clean_db}, capture_output=True, timeout=60)
    assert (raw.returncode, raw.stdout, raw.stderr) == (0, body, b"")
    shown = cli("events", "show", event["id"], database_url=clean_db)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout.split("payload:\n", 1)[1]) == json.loads(body)
    assert json.loads(cli("events", "show", event["id"], "--json", database_url=clean_db).stdout)["payload"] == (
        json.loads(body)
    )


def test_events_show_raw_of_a_row_older_than_the_body_column_says_so(clean_db: str) -> None:
    event = stripe_event()
    with psycopg.connect(clean_db, autocommit=True) as conn:  # as rows stored before migration 0003 are
        conn.execute(
            "INSERT INTO webhook_events (provider, event_id, event_type, payload) VALUES ('stripe', %s, %s, %s)",
            (event["id"], event["type"], json.dumps(event)),
        )
    raw = cli("events", "show", event["id"], "--raw", database_url=clean_db)
    assert raw.returncode == 0
    assert json.loads(raw.stdout) == event
    assert "stored before migration 0003" in raw.stderr


def test_filter_arguments_that_are_not_text_are_refused_with_a_message_not_a_traceback(clean_db: str) -> None:
    for option in ("--scheme", "--endpoint", "--type"):
        for value in ("\udcff", "a\udcffb"):  # a byte that is no UTF-8, as argv carries it
            listed = cli("events", "list", option, value, database_url=clean_db)
            assert listed.returncode == 2 and "matches no event" in listed.stderr, (option, value, listed.stderr)
            assert "Traceback" not in listed.stderr, listed.stderr
    shown = cli("events", "show", "\udcff", database_url=clean_db)
    assert "Traceback" not in shown.stderr and shown.returncode != 0, shown.stderr
