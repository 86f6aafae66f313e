"""A sick database costs a fast 503 with Retry-After, never a hang; recovery needs no restart."""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
import pytest
from flask import Flask

from tests.conftest import STRIPE_SECRET
from tests.signers import signed_stripe_request, stripe_event
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.settings import Settings

# The contract: a webhook gets its 503 within 2 s; the margin is for a busy 2-core machine.
DEADLINE_SECONDS = 2.5


def deliver(client, event: dict) -> tuple[int, float, dict, dict]:
    body, headers = signed_stripe_request(event, STRIPE_SECRET)
    started = time.monotonic()
    response = client.post("/webhooks/stripe", data=body, headers=headers)
    return response.status_code, time.monotonic() - started, response.get_json(), dict(response.headers)


def test_database_down_is_a_fast_503_and_its_return_needs_no_restart(
    make_app: Callable[[Settings], Flask], own_postgres: LocalPostgres
) -> None:
    client = make_app(Settings(database_url=own_postgres.url(), stripe_secrets=(STRIPE_SECRET,))).test_client()
    assert deliver(client, stripe_event())[0] == 200

    own_postgres.stop()
    for _ in range(3):  # the stale pooled connection, then the failed reconnects
        status, elapsed, body, headers = deliver(client, stripe_event())
        assert status == 503
        assert elapsed < DEADLINE_SECONDS
        assert body == {"error": "database_unavailable", "message": "the event was not stored; retry later"}
        assert int(headers["Retry-After"]) > 0
    assert client.get("/health").status_code == 200  # the balancer must not pull every instance

    own_postgres.start()
    event = stripe_event()
    status, _, body, _ = deliver(client, event)
    assert (status, body["duplicate"]) == (200, False)
    with psycopg.connect(own_postgres.url()) as conn:
        assert conn.execute("SELECT count(*) FROM webhook_events WHERE event_id = %s", (event["id"],)).fetchone() == (
            1,
        )


def test_a_restart_between_requests_is_invisible_to_the_sender(
    make_app: Callable[[Settings], Flask], own_postgres: LocalPostgres
) -> None:
    client = make_app(Settings(database_url=own_postgres.url(), stripe_secrets=(STRIPE_SECRET,))).test_client()
    assert deliver(client, stripe_event())[0] == 200
    own_postgres.stop()
    own_postgres.start()
    assert deliver(client, stripe_event())[0] == 200  # the pooled connection died; a new one is used


def test_an_unmigrated_database_says_to_run_migrate_in_the_log_not_to_the_sender(
    make_app: Callable[[Settings], Flask], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS unmigrated")
        conn.execute("CREATE DATABASE unmigrated")
    url = database_url.rsplit("/", 1)[0] + "/unmigrated"
    client = make_app(Settings(database_url=url, stripe_secrets=(STRIPE_SECRET,))).test_client()
    status, elapsed, body, _ = deliver(client, stripe_event())
    assert status == 503
    assert body == {"error": "database_unavailable", "message": "the event was not stored; retry later"}
    assert "webhook-server migrate" in caplog.text
    assert elapsed < DEADLINE_SECONDS
