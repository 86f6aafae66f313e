"""The read-only Django admin of webhook events and its replay action, through Django's test client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

from tests.worker.conftest import insert_events, query

EVENTS = "/admin/webhook_server/webhookevent/"


@pytest.fixture
def client_as(django_in_process: None, clean_db: str) -> Iterator[Callable[..., object]]:
    """A logged-in test client for a staff user: a superuser, or one with only the given permissions."""
    from django.contrib.auth.models import Permission, User
    from django.db import connections
    from django.test import Client

    def login(username: str, *permissions: str) -> Client:
        user, _ = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": not permissions}
        )
        user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
        client = Client()
        client.force_login(user)
        return client

    yield login
    connections.close_all()  # nothing of Django's left open for the next test's TRUNCATE


@pytest.fixture
def admin_client(client_as: Callable[..., object]) -> object:
    return client_as("admin")


def _dead_event_with_history(database_url: str) -> tuple[int, str]:
    (event_id,) = insert_events(database_url, 1, prefix="dead")
    ((row_id,),) = query(
        database_url,
        "UPDATE webhook_events SET status = 'dead', attempts = 3, processed_at = now(), last_error = 'boom' "
        "WHERE event_id = %s RETURNING id",
        event_id,
    )
    query(
        database_url,
        "INSERT INTO webhook_event_attempts (event_row, event_received_at, attempt, worker, started_at, finished_at, "
        "outcome, error) SELECT id, received_at, 3, 'host:1', now(), now(), 'failed', "
        "'RuntimeError: planned failure of attempt 3' FROM webhook_events WHERE id = %s RETURNING id",
        row_id,
    )
    return row_id, event_id


def test_the_admin_lists_and_shows_events_with_their_history_and_changes_nothing(admin_client, clean_db: str) -> None:
    others = insert_events(clean_db, 3, prefix="listed")
    row_id, dead = _dead_event_with_history(clean_db)

    listing = admin_client.get(EVENTS)
    assert listing.status_code == 200
    assert all(event_id in listing.text for event_id in [*others, dead])
    filtered = admin_client.get(EVENTS, {"status": "dead"})
    assert dead in filtered.text and others[0] not in filtered.text

    page = admin_client.get(f"{EVENTS}{row_id}/change/")
    assert page.status_code == 200
    assert "RuntimeError: planned failure of attempt 3" in page.text  # the attempt history, inline
    assert 'name="_save"' not in page.text  # read-only
    assert admin_client.get(f"{EVENTS}add/").status_code == 403
    assert admin_client.post(f"{EVENTS}{row_id}/delete/", {"post": "yes"}).status_code == 403
    assert query(clean_db, "SELECT count(*) FROM webhook_events") == [(4,)]


def test_replay_from_the_admin_makes_the_events_due_again_and_keeps_their_history(admin_client, clean_db: str) -> None:
    row_id, _ = _dead_event_with_history(clean_db)
    (held,) = insert_events(clean_db, 1, prefix="held")
    ((held_row,),) = query(
        clean_db,
        "UPDATE webhook_events SET locked_by = 'host:2', locked_until = now() + interval '1 minute', attempts = 1 "
        "WHERE event_id = %s RETURNING id",
        held,
    )

    response = admin_client.post(EVENTS, {"action": "replay", "_selected_action": [row_id, held_row]}, follow=True)
    assert response.status_code == 200
    assert "1 events replayed" in response.text
    assert "1 events were left alone: a worker holds them" in response.text
    assert query(clean_db, "SELECT status, attempts, processed_at FROM webhook_events WHERE id = %s", row_id) == [
        ("pending", 0, None)
    ]
    assert query(clean_db, "SELECT locked_by, attempts FROM webhook_events WHERE id = %s", held_row) == [("host:2", 1)]
    history = "SELECT outcome, worker FROM webhook_event_attempts WHERE event_row = %s ORDER BY id"
    assert query(clean_db, history, row_id)[-2:] == [("failed", "host:1"), ("replayed", "admin (Django admin)")]


def test_a_user_who_may_only_view_cannot_replay(client_as: Callable[..., object], clean_db: str) -> None:
    viewer = client_as("viewer", "view_webhookevent")
    row_id, _ = _dead_event_with_history(clean_db)

    assert viewer.get(EVENTS).status_code == 200
    viewer.post(EVENTS, {"action": "replay", "_selected_action": [row_id]})
    assert query(clean_db, "SELECT status FROM webhook_events WHERE id = %s", row_id) == [("dead",)]


def test_the_model_reads_the_endpoint_the_signed_body_and_the_stored_headers(admin_client, clean_db: str) -> None:
    from webhook_server.contrib.django.database import database_alias
    from webhook_server.contrib.django.models import WebhookEvent
    from webhook_server.inbox import IncomingEvent
    from webhook_server.inbox import insert_events as store

    body = '{"id": "evt_named", "type": "invoice.paid", "note": "\\u0000"}'  # jsonb cannot hold it
    named = IncomingEvent(
        "stripe", "evt_named", "invoice.paid", body, endpoint="stripe-eu", headers={"user-agent": "Stripe/1.0"}
    )
    with psycopg.connect(clean_db, autocommit=True) as conn:
        store(conn, [named])
    (older,) = insert_events(clean_db, 1, scheme="stripe", prefix="older")  # as before migration 0005

    event = WebhookEvent.objects.using(database_alias()).get(event_id="evt_named")
    assert (event.endpoint, event.route, event.headers) == ("stripe-eu", "stripe-eu", {"user-agent": "Stripe/1.0"})
    assert bytes(event.body).decode() == body and event.payload is None
    before = WebhookEvent.objects.using(database_alias()).get(event_id=older)
    assert (before.endpoint, before.route, before.headers, before.body) == (None, "stripe", {}, None)
    listing = admin_client.get(EVENTS, {"endpoint": "stripe-eu"})
    assert "evt_named" in listing.text and older not in listing.text
