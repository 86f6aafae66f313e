"""The worker's main loop answers a whole, validly signed delivery itself (ingest.DirectIngest);
every other request, and a delivery whose commit failed, gets the answer Flask always gave."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import requests

from tests.answers import read_answers, without_date
from tests.conftest import STRIPE_SECRET, stored_rows
from tests.harness.gunicorn import GunicornServer
from tests.harness.polling import wait_for
from tests.signers import signed_stripe_request, stripe_event

# The contract: a delivery the database cannot take gets its 503 within 2.5 s.
DB_TIMEOUT = 1.5
DEADLINE_SECONDS = 2.5


def test_pipelined_requests_on_one_connection_get_flasks_answers_in_order(
    start_server: Callable[..., GunicornServer], clean_db: str
) -> None:
    server = start_server()
    event = stripe_event()
    delivery = server.delivery_bytes(event)
    digit = delivery.index(b"v1=") + 3
    forged = delivery[:digit] + (b"1" if delivery[digit : digit + 1] == b"0" else b"0") + delivery[digit + 1 :]
    health = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    other_event = stripe_event()
    other = server.delivery_bytes(other_event)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
        client.sendall(delivery + delivery + forged + health + other)
        answers = read_answers(client, 5)
        # The same delivery once more, its body sent a moment after its head: a request thread
        # reads it (the main loop only takes what has arrived whole) and Flask answers it.
        body_starts = delivery.index(b"\r\n\r\n") + 4
        client.sendall(delivery[:body_starts])
        time.sleep(0.2)
        client.sendall(delivery[body_starts:])
        answers += read_answers(client, 1)
    statuses = [int(head.split(b" ")[1]) for head, _ in answers]
    assert statuses == [200, 200, 400, 200, 200, 200], answers
    bodies = [json.loads(body) for _, body in answers]
    assert bodies[0] == {"received": True, "duplicate": False}
    assert bodies[1] == bodies[5] == {"received": True, "duplicate": True}
    assert bodies[2]["error"] == "signature_invalid" and bodies[3] == {"status": "ok"}
    # The main loop's 200 is the one Flask gave for the same delivery, byte for byte but the date.
    assert without_date(answers[1][0]) == without_date(answers[5][0])
    assert answers[1][1] == answers[5][1]
    assert sorted(row[1] for row in stored_rows(clean_db)) == sorted([event["id"], other_event["id"]])


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    match = re.search(rf"^{re.escape(name)}{{{re.escape(wanted)}}} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_metrics_and_access_log_count_the_main_loops_answers(
    start_server: Callable[..., GunicornServer], clean_db: str
) -> None:
    server = start_server()
    with requests.Session() as session:  # kept alive: each delivery after the first reaches the main loop kept
        for _ in range(10):
            body, headers = signed_stripe_request(stripe_event(), STRIPE_SECRET)
            assert (
                session.post(server.url("/webhooks/stripe/"), data=body, headers=headers, timeout=10).status_code == 200
            )
    text = requests.get(server.url("/metrics"), timeout=5).text
    assert metric(text, "webhook_http_requests_total", route="/webhooks/<endpoint_name>/", status="200") == 10
    assert metric(text, "webhook_events_total", outcome="stored", endpoint="stripe", provider="stripe") == 10
    assert metric(text, "webhook_ingest_duration_seconds_count", endpoint="stripe", provider="stripe") == 10
    lines = [
        json.loads(line) for line in server.log_path.read_text().splitlines() if '"path": "/webhooks/stripe/"' in line
    ]
    assert len(lines) == 10
    assert {(line["method"], line["status"]) for line in lines} == {("POST", 200)}
    assert all(line["bytes"] > 0 and line["duration_ms"] >= 0 for line in lines)
    assert len(stored_rows(clean_db)) == 10


def hold_table_lock(database_url: str) -> psycopg.Connection:
    """A transaction holding the inbox table: every insert waits on it until its statement timeout."""
    conn = psycopg.connect(database_url)
    conn.execute("LOCK TABLE webhook_events IN ACCESS EXCLUSIVE MODE")
    return conn


def timed_delivery(server: GunicornServer) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = server.deliver()
    return response, time.monotonic() - started


def test_a_commit_that_times_out_is_a_503_after_one_wait_not_two(
    start_server: Callable[..., GunicornServer], clean_db: str
) -> None:
    """The main loop's wait ends at WEBHOOK_DB_TIMEOUT; the Flask view then answers at once with
    that failure, instead of queueing the event for a second wait of its own."""
    server = start_server(WEBHOOK_DB_TIMEOUT=str(DB_TIMEOUT), WEBHOOK_WORKERS="1")
    lock = hold_table_lock(clean_db)
    try:
        response, elapsed = timed_delivery(server)
    finally:
        lock.close()
    assert response.status_code == 503 and response.json()["error"] == "database_unavailable"
    assert DB_TIMEOUT <= elapsed < DEADLINE_SECONDS, elapsed
    assert response.headers["Retry-After"]
    stored = wait_for(lambda: server.deliver().status_code == 200, 10, "a 200 once the lock is gone")
    assert stored and len(stored_rows(clean_db)) == 1


def writer_backends(database_url: str) -> list[int]:
    """The pids of the Postgres backends serving the server's connections (db.connect names them)."""
    with psycopg.connect(database_url) as conn:
        query = "SELECT pid FROM pg_stat_activity WHERE application_name = 'webhook-server'"
        return [row[0] for row in conn.execute(query)]


def test_a_commit_that_hangs_is_a_503_at_the_main_loops_deadline(
    start_server: Callable[..., GunicornServer], clean_db: str
) -> None:
    """A database connection that stops answering (a network partition: no statement timeout
    fires, no error comes) holds the writer in its insert; the main loop's own deadline answers."""
    server = start_server(WEBHOOK_DB_TIMEOUT=str(DB_TIMEOUT), WEBHOOK_WORKERS="1")
    assert server.deliver().status_code == 200  # the writer's connection is open and in use
    (backend,) = writer_backends(clean_db)
    os.kill(backend, signal.SIGSTOP)
    try:
        response, elapsed = timed_delivery(server)
    finally:
        os.kill(backend, signal.SIGCONT)
    assert response.status_code == 503 and response.json()["error"] == "database_unavailable"
    assert DB_TIMEOUT <= elapsed < DEADLINE_SECONDS, elapsed


def test_a_commit_that_times_out_is_spooled_when_a_spool_is_set(
    start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    server = start_server(
        WEBHOOK_DB_TIMEOUT=str(DB_TIMEOUT), WEBHOOK_WORKERS="1", WEBHOOK_SPOOL_DIR=str(tmp_path / "spool")
    )
    event = stripe_event()
    lock = hold_table_lock(clean_db)
    try:
        started = time.monotonic()
        response = server.deliver(event)
        elapsed = time.monotonic() - started
    finally:
        lock.close()
    assert response.status_code == 200 and response.json() == {"received": True, "duplicate": False, "spooled": True}
    assert elapsed < DEADLINE_SECONDS, elapsed
    wait_for(lambda: [row[1] for row in stored_rows(clean_db)] == [event["id"]], 15, "the spooled event drained")
