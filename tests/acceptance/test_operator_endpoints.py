"""Operator commands and named endpoints, as processes: filter by endpoint, see the stored headers,
reconcile one Stripe account with its own API key."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import psycopg

from tests.acceptance.test_operator_cli import cli
from tests.fake_stripe import API_KEY, FakeStripe
from tests.harness.gunicorn import GunicornServer
from tests.signers import stripe_event
from webhook_server.inbox import IncomingEvent, insert_events

ENDPOINTS = """
[endpoints.stripe-eu]
scheme = "stripe"
secret_env = "STRIPE_EU_WEBHOOK_SECRET"
api_key_env = "STRIPE_EU_API_KEY"

[endpoints.stripe-us]
scheme = "stripe"
secret_env = "STRIPE_US_WEBHOOK_SECRET"
"""


def store(database_url: str, endpoint: str | None, event: dict, headers: dict[str, str] | None = None) -> None:
    incoming = IncomingEvent("stripe", event["id"], event["type"], json.dumps(event), endpoint, headers or {})
    with psycopg.connect(database_url, autocommit=True) as conn:
        insert_events(conn, [incoming])


def test_events_list_and_stats_filter_by_endpoint_and_show_prints_headers(clean_db: str) -> None:
    store(clean_db, "stripe-eu", stripe_event(event_id="evt_eu_1"), {"x-forwarded-for": "203.0.113.7"})
    store(clean_db, "stripe-us", stripe_event(event_id="evt_us_1"))
    store(clean_db, None, stripe_event(event_id="evt_old_1"))  # a row from before endpoints were recorded

    listed = json.loads(cli("events", "list", "--endpoint", "stripe-eu", "--json", database_url=clean_db).stdout)
    assert [(e["event_id"], e["scheme"], e["endpoint"]) for e in listed] == [("evt_eu_1", "stripe", "stripe-eu")]
    old = json.loads(cli("events", "list", "--endpoint", "stripe", "--json", database_url=clean_db).stdout)
    assert [e["event_id"] for e in old] == ["evt_old_1"]  # read as the scheme's own route
    every_stripe = json.loads(cli("events", "list", "--scheme", "stripe", "--json", database_url=clean_db).stdout)
    assert len(every_stripe) == 3
    old_option = cli("events", "list", "--provider", "stripe", "--json", database_url=clean_db)
    assert json.loads(old_option.stdout) == every_stripe  # the old name works until 0.2.0, and says so
    assert "--provider is deprecated" in old_option.stderr and "use --scheme" in old_option.stderr

    stats = json.loads(cli("stats", "--json", database_url=clean_db).stdout)
    assert stats["counts"] == {"stripe": {"pending": 1}, "stripe-eu": {"pending": 1}, "stripe-us": {"pending": 1}}
    one = json.loads(cli("stats", "--endpoint", "stripe-us", "--json", database_url=clean_db).stdout)
    assert one["counts"] == {"stripe-us": {"pending": 1}} and one["totals"]["pending"] == 1
    table = cli("stats", database_url=clean_db).stdout
    assert table.splitlines()[0].split() == ["STATUS", "STRIPE", "STRIPE-EU", "STRIPE-US", "TOTAL"]

    shown = cli("events", "show", "evt_eu_1", database_url=clean_db)
    assert shown.returncode == 0, shown.stderr
    assert "endpoint:" in shown.stdout and "stripe-eu" in shown.stdout
    assert "headers:\n  x-forwarded-for: 203.0.113.7\n" in shown.stdout
    as_json = json.loads(cli("events", "show", "evt_eu_1", "--json", database_url=clean_db).stdout)
    assert as_json["headers"] == {"x-forwarded-for": "203.0.113.7"}


def test_reconcile_one_endpoint_uses_its_api_key_env_and_stores_under_it(
    clean_db: str, fake_stripe: FakeStripe, tmp_path: Path
) -> None:
    fake_stripe.add(stripe_event(event_id="evt_api_eu"))
    (tmp_path / "endpoints.toml").write_text(ENDPOINTS)
    (tmp_path / "eu-key").write_text(API_KEY)
    env = {"WEBHOOK_ENDPOINTS_FILE": str(tmp_path / "endpoints.toml"), "STRIPE_API_BASE": fake_stripe.url}

    # The endpoint's key, from a file; STRIPE_API_KEY (another account's) is not used for it.
    done = cli(
        "reconcile",
        "stripe",
        "--endpoint",
        "stripe-eu",
        database_url=clean_db,
        STRIPE_EU_API_KEY_FILE=str(tmp_path / "eu-key"),
        STRIPE_API_KEY="rk_the_other_account",
        **env,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "found 1, inserted 1, already present 0"), done.stderr
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT provider, endpoint FROM webhook_events").fetchall() == [("stripe", "stripe-eu")]

    no_key = cli("reconcile", "stripe", "--endpoint", "stripe-eu", database_url=clean_db, **env)
    assert no_key.returncode == 2 and "set STRIPE_EU_API_KEY" in no_key.stderr
    no_env = cli("reconcile", "stripe", "--endpoint", "stripe-us", database_url=clean_db, **env)
    assert no_env.returncode == 2 and "has no api_key_env" in no_env.stderr
    unknown = cli("reconcile", "stripe", "--endpoint", "stripe-jp", database_url=clean_db, **env)
    assert unknown.returncode == 2 and "its Stripe endpoints: stripe-eu, stripe-us" in unknown.stderr


def test_send_to_a_named_stripe_endpoint_signs_with_its_secret_env(
    start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    (tmp_path / "endpoints.toml").write_text(ENDPOINTS)
    (tmp_path / "eu-secret").write_text("whsec_eu_from_a_file\n")
    env = {
        "WEBHOOK_ENDPOINTS_FILE": str(tmp_path / "endpoints.toml"),
        "STRIPE_EU_WEBHOOK_SECRET_FILE": str(tmp_path / "eu-secret"),
        "STRIPE_US_WEBHOOK_SECRET": "whsec_us",
    }
    server = start_server(**env)
    url = server.url("/webhooks/stripe-eu")
    sent = cli("send", "stripe-eu", "--url", url, "--type", "invoice.paid", "--id", "evt_send_eu", **env)
    assert sent.returncode == 0 and "→ 200" in sent.stdout, sent.stdout + sent.stderr
    assert f"signing with STRIPE_EU_WEBHOOK_SECRET from STRIPE_EU_WEBHOOK_SECRET_FILE ({tmp_path / 'eu-secret'})" in (
        sent.stderr
    )
    with psycopg.connect(clean_db) as conn:
        row = conn.execute("SELECT provider, endpoint, payload->'data'->'object'->>'object' FROM webhook_events")
        assert row.fetchall() == [("stripe", "stripe-eu", "invoice")]
