"""The spool with real processes: gunicorn, a Postgres stopped and started, kill -9, a full spool.

The claim throughout: every delivery answered 200 ends as exactly one row in webhook_events,
whatever happened to Postgres or to gunicorn in between.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
import requests
from flask import Flask

from tests.conftest import STRIPE_SECRET, GunicornServer, gunicorn_servers
from tests.harness.load import SignedLoad, assert_each_acknowledged_event_stored_once, stored_rows
from tests.harness.polling import wait_for
from tests.signers import signed_stripe_request, stripe_event
from webhook_server import db
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.inbox import IncomingEvent
from webhook_server.settings import MIN_SPOOL_BYTES, Settings
from webhook_server.spool.drainer import Drainer
from webhook_server.spool.store import Spool, SpoolUnavailable, read_summary

# Short, so that a delivery during the outage is spooled quickly (the circuit breaker makes it at once).
DB_TIMEOUT = "0.5"
# From Postgres back to an empty spool: the drainers retry every 2 s at most.
DRAIN_DEADLINE_SECONDS = 30
# A batch claimed by a drainer killed mid-insert waits out its lease (10 s) first.
KILLED_DRAIN_DEADLINE_SECONDS = 45


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "spool"
    directory.mkdir(mode=0o700)  # the server refuses a spool others can enter
    return directory


@pytest.fixture
def serve(own_postgres: LocalPostgres, spool_dir: Path, tmp_path: Path) -> Iterator[Callable[..., GunicornServer]]:
    """Start gunicorn on the test's own Postgres with the spool on; all are killed afterwards."""
    spooling = {"WEBHOOK_SPOOL_DIR": str(spool_dir), "WEBHOOK_DB_TIMEOUT": DB_TIMEOUT}
    with gunicorn_servers(own_postgres.url(), tmp_path, **spooling) as start:
        yield start


def rows_of(database_url: str, event_id: str) -> int:
    return sum(1 for row in stored_rows(database_url) if row[1] == event_id)


def count_rows(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0]


def spooled(spool_dir: Path) -> int:
    return read_summary(spool_dir).events


def wait_drained(spool_dir: Path, timeout: float = DRAIN_DEADLINE_SECONDS) -> None:
    wait_for(lambda: spooled(spool_dir) == 0, timeout, "the spool drained into Postgres")


def test_postgres_stopped_and_started_under_load_every_200_ends_as_one_row(
    serve: Callable[..., GunicornServer], own_postgres: LocalPostgres, spool_dir: Path
) -> None:
    server = serve()
    with SignedLoad(server.url("/webhooks/stripe"), rate=40) as load:
        wait_for(lambda: len(load.ledger.acknowledged) >= 20, 20, "20 deliveries stored before the outage")
        own_postgres.stop()
        wait_for(lambda: spooled(spool_dir) >= 10, 30, "10 deliveries spooled during the outage")
        own_postgres.start()
        during = len(load.ledger.acknowledged)
        wait_for(lambda: len(load.ledger.acknowledged) >= during + 20, 30, "20 deliveries after the outage")
    wait_drained(spool_dir)
    assert load.ledger.failures == []
    stored = assert_each_acknowledged_event_stored_once(load.ledger, own_postgres.url())
    assert len(stored) >= len(load.ledger.acknowledged)


def test_kill_9_during_the_outage_then_a_new_gunicorn_on_the_same_spool_drains_everything(
    serve: Callable[..., GunicornServer], own_postgres: LocalPostgres, spool_dir: Path
) -> None:
    first = serve()
    own_postgres.stop()
    before_kill = [stripe_event() for _ in range(5)]
    for event in before_kill:
        assert first.deliver(event).json() == {"received": True, "duplicate": False, "spooled": True}
    first.kill()  # SIGKILL to the master and its workers: nothing is flushed or closed
    second = serve()  # Postgres still down: it starts, and takes deliveries into the same spool
    after_kill = [stripe_event() for _ in range(5)]
    for event in after_kill:
        assert second.deliver(event).json()["spooled"] is True
    assert spooled(spool_dir) == 10
    own_postgres.start()
    wait_drained(spool_dir)
    stored = [row[1] for row in stored_rows(own_postgres.url())]
    assert sorted(stored) == sorted(event["id"] for event in before_kill + after_kill)


def test_kill_9_in_the_middle_of_a_drain_loses_nothing_and_stores_nothing_twice(
    serve: Callable[..., GunicornServer], own_postgres: LocalPostgres, spool_dir: Path
) -> None:
    spool = Spool(spool_dir, max_bytes=MIN_SPOOL_BYTES * 64)
    ids = [f"evt_spooled_{number:05d}" for number in range(10_000)]
    with ThreadPoolExecutor(64) as pool:  # many at once: they share commits, as deliveries do
        list(pool.map(lambda event_id: spool.put(IncomingEvent("stripe", event_id, "t", "{}")), ids))
    spool.close()
    first = serve()
    wait_for(lambda: count_rows(own_postgres.url()) > 0, 20, "the drain started")
    first.kill()
    assert spooled(spool_dir) > 0, "the drain ended before the kill: nothing was tested"
    serve()
    wait_drained(spool_dir, KILLED_DRAIN_DEADLINE_SECONDS)
    assert sorted(row[1] for row in stored_rows(own_postgres.url())) == ids


def test_a_redelivery_during_the_outage_of_an_event_stored_before_it_is_one_row(
    serve: Callable[..., GunicornServer], own_postgres: LocalPostgres, spool_dir: Path
) -> None:
    server = serve()
    event = stripe_event()
    assert server.deliver(event).json() == {"received": True, "duplicate": False}
    own_postgres.stop()
    assert server.deliver(event).json() == {"received": True, "duplicate": False, "spooled": True}
    assert server.deliver(event).json() == {"received": True, "duplicate": True, "spooled": True}
    assert spooled(spool_dir) == 1
    own_postgres.start()
    wait_drained(spool_dir)
    assert rows_of(own_postgres.url(), event["id"]) == 1
    assert server.deliver(event).json() == {"received": True, "duplicate": True}


def test_bad_input_during_the_outage_stays_4xx_and_nothing_is_spooled(
    serve: Callable[..., GunicornServer], own_postgres: LocalPostgres, spool_dir: Path
) -> None:
    server = serve()
    own_postgres.stop()
    body, headers = signed_stripe_request(stripe_event(), "whsec_forged")
    assert requests.post(server.url("/webhooks/stripe"), data=body, headers=headers, timeout=10).status_code == 400
    body, headers = signed_stripe_request(stripe_event(), STRIPE_SECRET)
    tampered = requests.post(server.url("/webhooks/stripe"), data=body + b" ", headers=headers, timeout=10)
    assert tampered.status_code == 400
    not_json = b"not json"
    _, headers = signed_stripe_request(stripe_event(), STRIPE_SECRET)
    assert requests.post(server.url("/webhooks/stripe"), data=not_json, headers=headers, timeout=10).status_code == 400
    assert spooled(spool_dir) == 0


def test_a_full_spool_answers_503_as_without_one(
    serve: Callable[..., GunicornServer], own_postgres: LocalPostgres, spool_dir: Path
) -> None:
    server = serve(WEBHOOK_SPOOL_MAX_BYTES=str(MIN_SPOOL_BYTES))
    own_postgres.stop()
    spool = Spool(spool_dir, max_bytes=MIN_SPOOL_BYTES)  # another process on the host fills it
    for size in (400_000, 4_000, 200):  # to the last few hundred bytes: less than any delivery
        with pytest.raises(SpoolUnavailable):
            for number in range(1000):
                spool.put(IncomingEvent("stripe", f"evt_{size}_{number}", "t", f'{{"padding": "{"x" * size}"}}'))
    spool.close()
    response = server.deliver(stripe_event())
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["error"] == "database_unavailable"
    assert response.json()["message"] == "the event was not stored; retry later"  # the sender learns nothing more
    assert "spool full" in server.log()  # the operator does


def test_metrics_show_the_backlog_and_what_was_spooled_and_drained(
    serve: Callable[..., GunicornServer], own_postgres: LocalPostgres, spool_dir: Path
) -> None:
    server = serve()
    own_postgres.stop()
    for _ in range(3):
        assert server.deliver().json()["spooled"] is True
    during = requests.get(server.url("/metrics"), timeout=10).text
    assert metric(during, "webhook_spool_events") == 3
    assert metric(during, "webhook_spool_oldest_age_seconds") > 0
    assert metric(during, 'webhook_events_total{endpoint="stripe",outcome="spooled",provider="stripe"}') == 3
    assert requests.get(server.url("/health"), timeout=10).status_code == 200  # never asks Postgres
    own_postgres.start()
    wait_drained(spool_dir)
    after = requests.get(server.url("/metrics"), timeout=10).text
    assert metric(after, "webhook_spool_events") == 0
    assert metric(after, "webhook_spool_oldest_age_seconds") == 0
    assert metric(after, "webhook_spool_drained_total") == 3


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics:\n{text}"
    return float(match[1])


def test_the_drain_session_commits_durably_whatever_the_role_says(own_postgres: LocalPostgres) -> None:
    with psycopg.connect(own_postgres.url(), autocommit=True) as conn:
        conn.execute("ALTER ROLE postgres SET synchronous_commit = off")
    with db.connect(own_postgres.url()) as conn:  # how the drainer (and the inbox) connect
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)


def test_an_event_postgres_refuses_stays_spooled_and_the_others_drain(clean_db: str, spool_dir: Path) -> None:
    spool = Spool(spool_dir, max_bytes=MIN_SPOOL_BYTES)
    good = [IncomingEvent("stripe", f"evt_good_{number}", "invoice.paid", "{}") for number in range(3)]
    refused = IncomingEvent("stripe", "evt_nul", "invoice.paid\x00", "{}")  # text cannot hold NUL
    for event in (good[0], refused, *good[1:]):
        spool.put(event)
    drained: list[int] = []
    assert Drainer(spool, clean_db, timeout=1.0, on_drained=drained.append).drain() == 3
    assert sum(drained) == 3
    assert sorted(row[1] for row in stored_rows(clean_db)) == [event.event_id for event in good]
    assert spool.summary().events == 1  # kept, not lost, and left alone for a while
    assert not spool.claimable()
    spool.close()


def test_json_that_jsonb_cannot_hold_drains_with_its_body(clean_db: str, spool_dir: Path) -> None:
    """A spooled event with a NUL escape drains like any other: its body stored as signed, no jsonb."""
    spool = Spool(spool_dir, max_bytes=MIN_SPOOL_BYTES)
    odd = IncomingEvent("stripe", "evt_odd", "invoice.paid", '{"id": "evt_odd", "note": "nul \\u0000 inside"}')
    plain = IncomingEvent("stripe", "evt_plain", "invoice.paid", '{"id": "evt_plain"}')
    for event in (odd, plain):
        spool.put(event)
    assert Drainer(spool, clean_db, timeout=1.0, on_drained=lambda _: None).drain() == 2
    with psycopg.connect(clean_db) as conn:
        rows = conn.execute("SELECT event_id, body, payload IS NULL FROM webhook_events ORDER BY event_id").fetchall()
    assert rows == [("evt_odd", odd.payload.encode(), True), ("evt_plain", plain.payload.encode(), False)]
    assert spool.summary().events == 0
    spool.close()


def test_metrics_answer_without_the_spool_when_its_file_cannot_be_opened(
    make_app: Callable[[Settings], Flask], clean_db: str, spool_dir: Path
) -> None:
    """The spool's file is created before SQLite opens it (0600), and that open's OSError is a
    spool problem like SQLite's own: logged, not a 500 for the whole scrape."""
    app = make_app(Settings(database_url=clean_db, stripe_secrets=(STRIPE_SECRET,), spool_dir=spool_dir))
    spool_dir.rmdir()  # removed under the running server
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert b"webhook_spool_events" not in response.data
