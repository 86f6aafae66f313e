"""The request path against a real Postgres: verify → commit → 200, and every refusal stores nothing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import signers
from tests.conftest import STRIPE_SECRET, stored_rows
from tests.harness.polling import wait_for
from tests.signers import signed_stripe_request, stripe_event
from webhook_server.inbox import Inbox, IncomingEvent, insert_events
from webhook_server.settings import Settings


def post(client: FlaskClient, event: dict, secret: str = STRIPE_SECRET, path: str = "/webhooks/stripe", **kwargs):
    body, headers = signed_stripe_request(event, secret, **kwargs)
    return client.post(path, data=body, headers=headers)


def test_a_signed_event_is_committed_before_the_200(client: FlaskClient, clean_db: str) -> None:
    event = stripe_event("payment_intent.succeeded")
    response = post(client, event)
    assert response.status_code == 200
    assert response.get_json() == {"received": True, "duplicate": False}
    assert stored_rows(clean_db) == [("stripe", event["id"], "payment_intent.succeeded", "pending", 0)]


def test_the_body_is_stored_as_signed_and_as_jsonb(client: FlaskClient, clean_db: str) -> None:
    event = stripe_event()
    body, headers = signed_stripe_request(event, STRIPE_SECRET)
    assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 200
    with psycopg.connect(clean_db) as conn:
        stored_body, payload = conn.execute("SELECT body, payload FROM webhook_events").fetchone()
    assert stored_body == body
    assert payload == event


def test_a_redelivery_is_a_200_and_still_one_row(client: FlaskClient, clean_db: str) -> None:
    event = stripe_event()
    assert post(client, event).get_json()["duplicate"] is False
    again = post(client, event)
    assert again.status_code == 200
    assert again.get_json() == {"received": True, "duplicate": True}
    assert len(stored_rows(clean_db)) == 1


def test_the_trailing_slash_is_served_never_redirected(client: FlaskClient, clean_db: str) -> None:
    response = post(client, stripe_event(), path="/webhooks/stripe/")
    assert response.status_code == 200
    assert len(stored_rows(clean_db)) == 1


@pytest.mark.parametrize(
    ("secret", "offset", "reason"),
    [
        ("whsec_forged", 0, "signature_invalid"),
        (STRIPE_SECRET, -600, "signature_expired"),
        (STRIPE_SECRET, 600, "signature_expired"),
    ],
)
def test_forged_and_stale_signatures_are_400_and_store_nothing(
    client: FlaskClient, clean_db: str, secret: str, offset: int, reason: str
) -> None:
    response = post(client, stripe_event(), secret, timestamp=int(time.time()) + offset)
    assert response.status_code == 400
    assert response.get_json()["error"] == reason
    assert response.get_json()["message"]
    assert stored_rows(clean_db) == []


def test_a_missing_signature_is_400_and_stores_nothing(client: FlaskClient, clean_db: str) -> None:
    response = client.post("/webhooks/stripe", data=json.dumps(stripe_event()), content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"] == "signature_missing"
    assert stored_rows(clean_db) == []


def test_both_secrets_are_accepted_during_a_rotation(make_app: Callable[[Settings], Flask], clean_db: str) -> None:
    client = make_app(Settings(database_url=clean_db, stripe_secrets=("whsec_old", "whsec_new"))).test_client()
    assert post(client, stripe_event(), "whsec_old").status_code == 200
    assert post(client, stripe_event(), "whsec_new").status_code == 200
    assert len(stored_rows(clean_db)) == 2


def test_a_body_over_the_limit_is_413_and_stores_nothing(make_app: Callable[[Settings], Flask], clean_db: str) -> None:
    client = make_app(
        Settings(database_url=clean_db, stripe_secrets=(STRIPE_SECRET,), max_body_bytes=4096)
    ).test_client()
    event = stripe_event()
    event["data"]["object"]["metadata"]["padding"] = "x" * 5000
    response = post(client, event)
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    assert stored_rows(clean_db) == []


def test_signed_invalid_json_is_400(client: FlaskClient, clean_db: str) -> None:
    body = b'{"id": "evt_1", "type": '
    response = client.post("/webhooks/stripe", data=body, headers=signers.stripe(body, STRIPE_SECRET))
    assert response.status_code == 400
    assert response.get_json()["error"] == "body_not_json"
    assert stored_rows(clean_db) == []


# Valid JSON that jsonb refuses: a NUL escape, a lone surrogate, a number past numeric's range.
JSONB_REFUSES = {
    "nul-escape": '"nul \\u0000 inside"',
    "lone-surrogate": '"half \\ud800 a pair"',
    "huge-exponent": "1e200000",
}


@pytest.mark.parametrize("value", JSONB_REFUSES.values(), ids=JSONB_REFUSES.keys())
def test_json_that_jsonb_cannot_hold_is_stored_as_signed(client: FlaskClient, clean_db: str, value: str) -> None:
    event = stripe_event()
    body = json.dumps(event)[:-1] + f', "odd": {value}}}'
    headers = signers.stripe(body.encode(), STRIPE_SECRET)
    response = client.post("/webhooks/stripe", data=body, headers=headers)
    assert (response.status_code, response.get_json()) == (200, {"received": True, "duplicate": False})
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT event_id, body, payload FROM webhook_events").fetchall() == [
            (event["id"], body.encode(), None)
        ]
    again = client.post("/webhooks/stripe", data=body, headers=headers)
    assert (again.status_code, again.get_json()) == (200, {"received": True, "duplicate": True})


def test_nan_is_not_json(client: FlaskClient, clean_db: str) -> None:
    body = (json.dumps(stripe_event())[:-1] + ', "amount": NaN}').encode()
    response = client.post("/webhooks/stripe", data=body, headers=signers.stripe(body, STRIPE_SECRET))
    assert (response.status_code, response.get_json()["error"]) == (400, "body_not_json")
    assert stored_rows(clean_db) == []


def test_get_is_405_with_a_json_error(client: FlaskClient) -> None:
    response = client.get("/webhooks/stripe")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert response.get_json()["error"] == "method_not_allowed"


def test_an_unconfigured_scheme_is_404_naming_no_configured_one(client: FlaskClient) -> None:
    response = client.post("/webhooks/paypal", data=b"{}")
    assert response.status_code == 404
    assert response.get_json() == {"error": "not_found", "message": "no such webhook endpoint"}
    assert b"stripe" not in response.data


@pytest.mark.parametrize("path", ["/webhook/stripe", "/stripe", "/webhooks/stripe/x", "/"])
def test_a_path_outside_the_routes_is_a_json_404_naming_their_form(client: FlaskClient, path: str) -> None:
    """werkzeug's text ("check your spelling") did not say that the routes are /webhooks/<endpoint>."""
    response = client.post(path, data=b"{}")
    assert (response.status_code, response.content_type) == (404, "application/json")
    assert response.get_json() == {
        "error": "not_found",
        "message": "no such path; webhooks are posted to /webhooks/<endpoint>",
    }


def test_no_cookie_is_set_on_webhook_routes(client: FlaskClient) -> None:
    response = post(client, stripe_event())
    assert "Set-Cookie" not in response.headers


def test_concurrent_deliveries_of_one_event_store_it_once(client: FlaskClient, clean_db: str) -> None:
    """Redeliveries racing each other may land in one group commit: exactly one is new."""
    event = stripe_event()
    body, headers = signed_stripe_request(event, STRIPE_SECRET)
    results: list[dict] = []
    start = threading.Barrier(24)

    def deliver() -> None:
        start.wait()
        results.append(client.post("/webhooks/stripe", data=body, headers=headers).get_json())

    threads = [threading.Thread(target=deliver) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 24
    assert sorted(r["duplicate"] for r in results) == [False] + [True] * 23
    assert len(stored_rows(clean_db)) == 1


def test_concurrent_distinct_events_are_all_committed(client: FlaskClient, clean_db: str) -> None:
    events = [stripe_event() for _ in range(200)]
    statuses: list[int] = []

    def deliver(chunk: list[dict]) -> None:
        for event in chunk:
            statuses.append(post(client, event).status_code)

    threads = [threading.Thread(target=deliver, args=(events[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [200] * 200
    assert {row[1] for row in stored_rows(clean_db)} == {e["id"] for e in events}


def test_health_is_ok_and_needs_no_database(make_app: Callable[[Settings], Flask]) -> None:
    unreachable = Settings(database_url="postgresql://nobody@127.0.0.1:1/none", stripe_secrets=(STRIPE_SECRET,))
    client = make_app(unreachable).test_client()
    response = client.get("/health")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert client.head("/health").status_code == 200


def test_twins_of_an_event_jsonb_cannot_hold_in_one_group_are_duplicates(clean_db: str) -> None:
    """Concurrent copies of such an event, in one group with others: one row each, the rest duplicates.

    The writer is held on a row lock while the copies queue up, so they are one group for certain.
    """
    inbox = Inbox(clean_db, timeout=10)
    odd = IncomingEvent("stripe", "evt_nul", "x", '{"id": "evt_nul", "s": "\\u0000"}')
    good = IncomingEvent("stripe", "evt_ok", "x", '{"id": "evt_ok"}')
    gate = IncomingEvent("stripe", "evt_gate", "x", '{"id": "evt_gate"}')
    outcomes: list[tuple[str, bool]] = []

    def store(event: IncomingEvent) -> None:
        outcomes.append((event.event_id, inbox.store(event)))

    threads = [threading.Thread(target=store, args=(event,)) for event in [gate] + [odd, good] * 4 + [good]]
    try:
        with psycopg.connect(clean_db) as holder:  # a transaction that holds the gate's key
            insert_events(holder, [gate])
            threads[0].start()
            wait_for(lambda: lock_waiters(clean_db) == 1, 5, "the writer waiting on the gate's row lock")
            for thread in threads[1:]:
                thread.start()
            wait_for(lambda: inbox._queue.qsize() == 9, 5, "the nine copies queued behind the gate")
            holder.rollback()
        for thread in threads:
            thread.join(30)
    finally:
        inbox.close()
    assert outcomes[0] == ("evt_gate", False)
    assert sorted(o for o in outcomes if o[0] == "evt_nul") == [("evt_nul", False)] + [("evt_nul", True)] * 3
    assert sorted(o for o in outcomes if o[0] == "evt_ok") == [("evt_ok", False)] + [("evt_ok", True)] * 4
    assert sorted(row[1] for row in stored_rows(clean_db)) == ["evt_gate", "evt_nul", "evt_ok"]


def lock_waiters(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").fetchone()[0]
