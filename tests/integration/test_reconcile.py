"""Reconcile against a fake Stripe Events API on loopback and a real Postgres."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import psycopg
from flask.testing import FlaskClient

from tests.conftest import STRIPE_SECRET, stored_rows
from tests.fake_stripe import API_KEY, FakeStripe
from tests.signers import signed_stripe_request, stripe_event
from webhook_server.operator import queries, reconcile_stripe

DAY = 86400


def stripe_events(fake: FakeStripe, count: int, *, prefix: str = "evt_", age_seconds: int = 0, **kwargs) -> list[dict]:
    """``count`` events created a second apart, ``age_seconds`` ago and before."""
    created = int(time.time()) - age_seconds
    events = []
    for i in range(count):
        event = stripe_event("invoice.paid" if i % 2 else "customer.created", event_id=f"{prefix}{i:04d}")
        event["created"] = created - i
        fake.add(event, **kwargs)
        events.append(event)
    return events


def deliver(client: FlaskClient, event: dict) -> dict:
    body, headers = signed_stripe_request(event, STRIPE_SECRET)
    response = client.post("/webhooks/stripe", data=body, headers=headers)
    assert response.status_code == 200
    return response.get_json()


def run(database_url: str, fake: FakeStripe, *, since: timedelta = timedelta(days=3), **kwargs):
    client = reconcile_stripe.stripe_client(API_KEY, api_base=fake.url)
    with queries.connect(database_url) as conn:
        return reconcile_stripe.reconcile_stripe(conn, client, since=datetime.now(UTC) - since, **kwargs)


def test_reconcile_inserts_only_the_missing_events_and_is_idempotent(
    client: FlaskClient, clean_db: str, fake_stripe: FakeStripe
) -> None:
    events = stripe_events(fake_stripe, 250)
    for delivered in events[:3] + events[-2:]:
        assert deliver(client, delivered)["duplicate"] is False

    first = run(clean_db, fake_stripe)
    assert (first.found, first.inserted, first.already_present) == (250, 245, 5)
    rows = stored_rows(clean_db)
    assert sorted(event_id for _, event_id, *_ in rows) == sorted(e["id"] for e in events)
    assert {(scheme, status, attempts) for scheme, _, _, status, attempts in rows} == {("stripe", "pending", 0)}

    second = run(clean_db, fake_stripe)
    assert (second.found, second.inserted, second.already_present) == (250, 0, 250)
    assert len(stored_rows(clean_db)) == 250

    # Three pages of at most 100, each after the last id of the one before.
    assert [q.get("limit") for q in fake_stripe.queries[:3]] == ["100", "100", "100"]
    assert [q.get("starting_after") for q in fake_stripe.queries[:3]] == [None, events[99]["id"], events[199]["id"]]


def test_a_reconciled_event_is_stored_as_the_api_gave_it_and_its_webhook_is_a_duplicate(
    client: FlaskClient, clean_db: str, fake_stripe: FakeStripe
) -> None:
    (event,) = stripe_events(fake_stripe, 1)
    assert run(clean_db, fake_stripe).inserted == 1
    with psycopg.connect(clean_db) as conn:
        (payload, event_type) = conn.execute("SELECT payload, event_type FROM webhook_events").fetchone()
    assert payload == event
    assert event_type == event["type"]
    assert deliver(client, event) == {"received": True, "duplicate": True}


def test_since_and_undelivered_only_are_asked_of_stripe(clean_db: str, fake_stripe: FakeStripe) -> None:
    recent = stripe_events(fake_stripe, 3, prefix="evt_recent_", age_seconds=60)
    stripe_events(fake_stripe, 4, prefix="evt_old_", age_seconds=5 * DAY)
    undelivered = stripe_events(fake_stripe, 2, prefix="evt_stuck_", age_seconds=DAY, delivered=False)

    only_stuck = run(clean_db, fake_stripe, undelivered_only=True)
    assert (only_stuck.found, only_stuck.inserted) == (2, 2)
    assert fake_stripe.queries[-1].get("delivery_success") == "false"

    last_three_days = run(clean_db, fake_stripe)
    assert (last_three_days.found, last_three_days.inserted, last_three_days.already_present) == (5, 3, 2)
    assert sorted(event_id for _, event_id, *_ in stored_rows(clean_db)) == sorted(
        e["id"] for e in recent + undelivered
    )
    since = int(fake_stripe.queries[-1]["created[gte]"])
    assert abs(since - (time.time() - 3 * DAY)) < 60


def test_an_event_jsonb_cannot_hold_is_stored_with_the_rest_of_its_page(clean_db: str, fake_stripe: FakeStripe) -> None:
    events = stripe_events(fake_stripe, 3)
    events[1]["data"]["object"]["description"] = "nul \u0000 byte"  # valid JSON, refused by jsonb
    result = run(clean_db, fake_stripe)
    assert (result.found, result.inserted, result.already_present) == (3, 3, 0)
    with psycopg.connect(clean_db) as conn:
        rows = conn.execute("SELECT event_id, body, payload IS NULL FROM webhook_events ORDER BY id").fetchall()
    assert {event_id: payload_is_null for event_id, _, payload_is_null in rows} == {
        event["id"]: event is events[1] for event in events
    }
    assert {event_id: json.loads(body) for event_id, body, _ in rows} == {event["id"]: event for event in events}
    assert run(clean_db, fake_stripe).inserted == 0


def test_types_limit_the_listing(clean_db: str, fake_stripe: FakeStripe) -> None:
    stripe_events(fake_stripe, 6)  # customer.created and invoice.paid, alternating
    result = run(clean_db, fake_stripe, types=["invoice.paid"])
    assert (result.found, result.inserted) == (3, 3)
    assert {event_type for _, _, event_type, *_ in stored_rows(clean_db)} == {"invoice.paid"}
    assert fake_stripe.queries[-1].getlist("types[0]") == ["invoice.paid"]
