"""``/health`` never waits for a request thread, whatever the request threads are doing."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable

import psycopg
import requests

from tests.harness.gunicorn import GunicornServer, read_response
from tests.harness.health_watch import HealthWatch
from tests.harness.load import SignedLoad
from tests.harness.outage import percentile
from tests.signers import stripe_event

STUCK = 64  # deliveries in flight at once, against 2 workers x 4 threads
DB_TIMEOUT = 1.5
HEALTH_EVERY_SECONDS = 0.02
WATCH_SECONDS = 6.0
MIN_CHECKS = 100  # enough for a p99 to mean something
P99_LIMIT_SECONDS = 0.050


def test_health_answers_in_milliseconds_while_every_thread_waits_on_a_locked_table(
    start_server: Callable[..., GunicornServer], clean_db: str
) -> None:
    # A circuit that never opens: every delivery waits its whole WEBHOOK_DB_TIMEOUT on the lock.
    server = start_server(WEBHOOK_DB_TIMEOUT=str(DB_TIMEOUT), WEBHOOK_DB_CIRCUIT_FAILURES="1000000")
    with psycopg.connect(clean_db) as locker:
        locker.execute("LOCK TABLE webhook_events IN ACCESS EXCLUSIVE MODE")  # held until the rollback
        with SignedLoad(server.url("/webhooks/stripe"), rate=10 * STUCK, senders=STUCK) as load:
            time.sleep(2 * STUCK / (10 * STUCK))  # long enough for every sender to have one in flight
            started = time.monotonic()
            with HealthWatch({"app": server.url("/health")}, HEALTH_EVERY_SECONDS) as watch:
                time.sleep(WATCH_SECONDS)
            ended = time.monotonic()
        locker.rollback()

    during = [a for a in load.ledger.answers if started <= a.answered_at <= ended]
    assert during, "no delivery was answered while /health was watched"
    assert {(a.status, a.error) for a in load.ledger.answers} == {(503, "database_unavailable")}
    assert min(a.seconds for a in during) >= DB_TIMEOUT * 0.9, "the deliveries were not stuck on the lock"
    checks = [c for c in watch.checks if started <= c.sent_at <= ended]
    assert len(checks) >= MIN_CHECKS, f"only {len(checks)} checks: the watcher itself was starved of CPU"
    assert {c.status for c in checks} == {200}
    latencies = watch.latencies(started, ended)
    assert percentile(latencies, 0.99) < P99_LIMIT_SECONDS, (
        f"/health p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms"
    )


def test_a_kept_alive_connection_serves_checks_then_a_delivery(
    start_server: Callable[..., GunicornServer], clean_db: str
) -> None:
    server = start_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as client:
        for _ in range(2):
            client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(client) == (200, b'{"status":"ok"}\n')
        client.sendall(b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n")
        head = client.recv(4096)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")  # no body follows
        client.sendall(server.delivery_bytes(stripe_event()))  # the same connection, now to a thread
        status, body = read_response(client)
    assert (status, json.loads(body)) == (200, {"received": True, "duplicate": False})


def test_an_http_1_0_check_is_answered_and_closed(start_server: Callable[..., GunicornServer], clean_db: str) -> None:
    server = start_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as client:
        client.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := client.recv(4096):  # until the server closes
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 200 OK\r\n") and b"\r\nConnection: close\r\n" in answer


def test_a_check_split_over_packets_is_still_answered(
    start_server: Callable[..., GunicornServer], clean_db: str
) -> None:
    server = start_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as client:
        client.sendall(b"GET /hea")
        time.sleep(0.1)  # the main loop sees half a request line and hands it to a thread
        client.sendall(b"lth HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_response(client) == (200, b'{"status":"ok"}\n')


def test_checks_answered_by_the_main_loop_are_counted_and_logged(
    start_server: Callable[..., GunicornServer], clean_db: str
) -> None:
    server = start_server()
    before = _health_count(server)
    for _ in range(3):
        assert requests.get(server.url("/health?from=test"), timeout=5).status_code == 200
    assert _health_count(server) == before + 3
    logged = [json.loads(line) for line in server.log().splitlines() if '"path": "/health"' in line]
    assert logged and logged[-1]["status"] == 200 and logged[-1]["method"] == "GET"
    assert logged[-1]["user_agent"].startswith("python-requests")


def _health_count(server: GunicornServer) -> float:
    text = requests.get(server.url("/metrics"), timeout=5).text
    prefix = 'webhook_http_requests_total{route="/health",status="200"} '
    return sum(float(line.removeprefix(prefix)) for line in text.splitlines() if line.startswith(prefix))
