"""A sick database costs a fast 503 with Retry-After, never a hang; recovery needs no restart."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from flask import Flask

from tests.conftest import STRIPE_SECRET
from tests.harness.polling import wait_for
from tests.integration.test_ingest import lock_waiters
from tests.signers import signed_stripe_request, stripe_event
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.settings import Settings

# The contract: a webhook gets its 503 within 2 s; the margin is for a busy 2-core machine.
DEADLINE_SECONDS = 2.5
PROBE_INTERVAL = 0.25
# After Postgres is back, a 503 lasts at most a probe interval; the margin is for a busy machine.
BACK_WITHIN_SECONDS = PROBE_INTERVAL + 0.5


def deliver(client, event: dict) -> tuple[int, float, dict, dict]:
    body, headers = signed_stripe_request(event, STRIPE_SECRET)
    started = time.monotonic()
    response = client.post("/webhooks/stripe", data=body, headers=headers)
    return response.status_code, time.monotonic() - started, response.get_json(), dict(response.headers)


def deliver_until_stored(client, event: dict) -> tuple[int, float, dict, dict]:
    """Deliver ``event`` until it is stored, as a sender retrying at once would; fail past BACK_WITHIN_SECONDS."""
    back = time.monotonic()
    while True:
        answer = deliver(client, event)
        if answer[0] == 200:
            return answer
        assert answer[2]["error"] == "database_unavailable"
        assert time.monotonic() - back < BACK_WITHIN_SECONDS, "still 503 a probe interval after Postgres returned"
        time.sleep(0.01)


def circuit_metrics(client) -> dict[str, float]:
    """The circuit's gauge and transition counters, as /metrics shows them."""
    lines = client.get("/metrics").get_data(as_text=True).splitlines()
    return {
        name: float(value)
        for name, value in (line.rsplit(" ", 1) for line in lines if line.startswith("webhook_database_circuit"))
    }


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
    status, _, body, _ = deliver_until_stored(client, event)
    assert (status, body["duplicate"]) == (200, False)
    with psycopg.connect(own_postgres.url()) as conn:
        assert conn.execute("SELECT count(*) FROM webhook_events WHERE event_id = %s", (event["id"],)).fetchone() == (
            1,
        )


def test_once_known_down_deliveries_are_refused_at_once_and_the_first_probe_that_succeeds_closes_it(
    make_app: Callable[[Settings], Flask], own_postgres: LocalPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    """A table locked by someone else: without the circuit every delivery would wait its whole
    WEBHOOK_DB_TIMEOUT on the lock; with it only the first three do, and one probe at a time."""
    db_timeout = 1.0
    settings = Settings(
        database_url=own_postgres.url(),
        stripe_secrets=(STRIPE_SECRET,),
        db_timeout=db_timeout,
        db_circuit_failures=3,
        db_probe_interval=PROBE_INTERVAL,
    )
    client = make_app(settings).test_client()
    assert deliver(client, stripe_event())[0] == 200
    before = circuit_metrics(client)

    with psycopg.connect(own_postgres.url()) as locker:
        locker.execute("LOCK TABLE webhook_events IN ACCESS EXCLUSIVE MODE")  # held until the rollback
        for _ in range(3):
            status, elapsed, _, _ = deliver(client, stripe_event())
            assert status == 503 and elapsed >= db_timeout * 0.9  # each waited on the lock
        wait_for(lambda: circuit_metrics(client)["webhook_database_circuit_open"] == 1, 5, "the circuit open")
        answers = [deliver(client, stripe_event()) for _ in range(50)]
        waiting_on_the_lock = lock_waiters(own_postgres.url())
        locker.rollback()
    assert {(status, body["error"]) for status, _, body, _ in answers} == {(503, "database_unavailable")}
    assert max(elapsed for _, elapsed, _, _ in answers) < db_timeout / 2, "a delivery waited on the database"
    assert waiting_on_the_lock <= 1, "more than the one probe waits on the database"
    assert all(int(headers["Retry-After"]) > 0 for _, _, _, headers in answers)
    refusals = [r.getMessage() for r in caplog.records if r.name == "webhook_server.web.errors"]
    assert re.search(r"\d+ failures in a row .*checked every 0.25 s", refusals[-1])  # the detail: the log's
    assert (
        circuit_metrics(client)['webhook_database_circuit_transitions_total{state="open"}']
        == before.get('webhook_database_circuit_transitions_total{state="open"}', 0) + 1
    )

    deliver_until_stored(client, stripe_event())  # the probe waiting on the lock gets it first
    closed = circuit_metrics(client)
    assert closed["webhook_database_circuit_open"] == 0
    assert (
        closed['webhook_database_circuit_transitions_total{state="closed"}']
        == before.get('webhook_database_circuit_transitions_total{state="closed"}', 0) + 1
    )
    transitions = [r.message for r in caplog.records if r.name == "webhook_server.circuit"]
    assert len(transitions) == 2 and "open after 3 failures" in transitions[0] and "closed" in transitions[1]


def test_with_the_spool_an_open_circuit_hands_deliveries_to_it_at_once(
    make_app: Callable[[Settings], Flask], own_postgres: LocalPostgres, tmp_path: Path
) -> None:
    """The interface with the spool: CircuitOpen is a DatabaseUnavailable, so the route spools it."""
    db_timeout = 1.0
    (tmp_path / "spool").mkdir()
    settings = Settings(
        database_url=own_postgres.url(),
        stripe_secrets=(STRIPE_SECRET,),
        db_timeout=db_timeout,
        spool_dir=tmp_path / "spool",
    )
    client = make_app(settings).test_client()
    with psycopg.connect(own_postgres.url()) as locker:
        locker.execute("LOCK TABLE webhook_events IN ACCESS EXCLUSIVE MODE")
        for _ in range(settings.db_circuit_failures):  # each spooled after waiting on the lock
            status, elapsed, body, _ = deliver(client, stripe_event())
            assert (status, body.get("spooled")) == (200, True) and elapsed >= db_timeout * 0.9
        wait_for(lambda: circuit_metrics(client)["webhook_database_circuit_open"] == 1, 5, "the circuit open")
        answers = [deliver(client, stripe_event()) for _ in range(20)]
        locker.rollback()
    assert {(status, body.get("spooled")) for status, _, body, _ in answers} == {(200, True)}
    assert max(elapsed for _, elapsed, _, _ in answers) < db_timeout / 2, "a delivery waited on the database"


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
