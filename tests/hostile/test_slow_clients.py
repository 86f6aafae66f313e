"""Slow clients (slowloris), bodies that never end, clients that leave mid-body.

Without a proxy in front, gthread gives each connection a thread and reads it with no
timeout: a few stalled clients held every thread for as long as they liked. The server's
worker (webhook_server.read_deadlines) cuts a request off WEBHOOK_READ_TIMEOUT after a thread
takes it up, so valid deliveries queue behind slow clients for a bounded time and are answered.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from gunicorn.workers import gthread

from tests.harness.gunicorn import GunicornServer
from tests.hostile.conftest import READ_TIMEOUT_SECONDS, Target
from tests.hostile.schemes import SCHEMES, Scheme, valid_delivery
from tests.hostile.slowloris import Slowloris, slow_openings
from tests.hostile.wire import parse_answer, request_bytes

THREADS_PER_WORKER = 4  # GunicornServer's WEBHOOK_THREADS; the suite's server has 2 workers
# More slow connections than the server has threads, three times over.
SLOW_CONNECTIONS = 3 * 2 * THREADS_PER_WORKER
ATTACK_SECONDS = 3 * READ_TIMEOUT_SECONDS
# A delivery waits behind the slow connections its worker accepted before it: at worst all of
# them, cut off a thread's worth per read timeout (measured: up to 11.5 s); plus a busy box.
DELIVERY_BOUND_SECONDS = SLOW_CONNECTIONS / THREADS_PER_WORKER * READ_TIMEOUT_SECONDS + 4


def timed_delivery(target: Target, scheme: Scheme) -> tuple[int | None, float]:
    started = time.monotonic()
    answer = target.deliver_valid(scheme)
    return answer.status, time.monotonic() - started


def test_slow_clients_cannot_starve_valid_deliveries(target: Target) -> None:
    """Once, not per scheme: slow clients are cut off before any scheme sees the request."""
    scheme = SCHEMES[0]
    results: list[tuple[int | None, float]] = []
    with Slowloris(target.port, scheme, SLOW_CONNECTIONS) as attack:
        time.sleep(0.5)  # every thread taken
        deadline = time.monotonic() + ATTACK_SECONDS
        while time.monotonic() < deadline:
            results.append(timed_delivery(target, scheme))
    target.bad_requests += SLOW_CONNECTIONS + attack.closed_by_server
    slowest = max(seconds for _, seconds in results)
    print(f"slowloris: {len(results)} deliveries, slowest {slowest:.2f} s, {attack.closed_by_server} cut off")
    assert [status for status, _ in results] == [200] * len(results)
    assert max(seconds for _, seconds in results) < DELIVERY_BOUND_SECONDS, results
    # The server cut slow clients off itself, every thread's worth, and answered none with a 5xx.
    assert attack.closed_by_server >= 2 * THREADS_PER_WORKER, attack.closed_by_server
    assert all(status is None or 400 <= status < 500 for status in attack.answers), attack.answers


def test_idle_connections_hold_no_thread_and_are_closed(target: Target) -> None:
    """Connections that never send a byte: gthread gave each a thread for 5 s (deliveries then
    waited 10-15 s behind 24 of them); here they wait in the poller and are closed in time."""
    idle = [socket.create_connection(("127.0.0.1", target.port), timeout=5) for _ in range(SLOW_CONNECTIONS)]
    try:
        time.sleep(0.3)
        deadline = time.monotonic() + READ_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            status, seconds = timed_delivery(target, SCHEMES[0])
            assert status == 200
            assert seconds < 1.5, f"a delivery waited {seconds:.1f} s behind idle connections"
        time.sleep(1.5)  # past the read timeout, with the worker's 1 s poll
        for conn in idle:
            conn.settimeout(2)
            assert conn.recv(1) == b"", "an idle connection was left open past the read timeout"
    finally:
        for conn in idle:
            conn.close()
    target.bad_requests += SLOW_CONNECTIONS


def test_idle_connections_do_not_hold_up_a_stop(database_url: str, tmp_path: Path) -> None:
    """They wait in the poller for up to the read timeout; a stopping worker closes them after
    gunicorn's stop linger for kept-alive connections, not at the end of graceful_timeout."""
    server = GunicornServer(database_url, tmp_path / "stop.log", WEBHOOK_DRAIN_ANNOUNCE="0", **SCHEMES[0].env)
    try:
        server.wait_until_healthy()
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(8)]
        time.sleep(0.5)  # accepted and parked by both workers
        sent = server.send_signal(signal.SIGTERM)
        assert server.wait_exit(15) == 0
        assert time.monotonic() - sent < gthread.STOP_KEEPALIVE_LINGER + 2, server.log()
        for conn in idle:
            conn.close()
    finally:
        server.kill()


def test_a_body_that_never_ends_is_cut_off_at_the_read_timeout(target: Target) -> None:
    for kind, first, trickle in slow_openings(SCHEMES[0]):
        with socket.create_connection(("127.0.0.1", target.port), timeout=READ_TIMEOUT_SECONDS + 10) as conn:
            started = time.monotonic()
            conn.sendall(first)
            received = b""
            with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                while time.monotonic() - started < READ_TIMEOUT_SECONDS + 10:
                    conn.sendall(trickle)
                    conn.settimeout(0.2)
                    try:
                        chunk = conn.recv(65536)
                    except TimeoutError:
                        continue
                    if not chunk:
                        break
                    received += chunk
            elapsed = time.monotonic() - started
        target.bad_requests += 1
        assert READ_TIMEOUT_SECONDS - 0.5 < elapsed < READ_TIMEOUT_SECONDS + 5, (kind, elapsed)
        status = parse_answer(received).status
        assert status is None or 400 <= status < 500, (kind, received[:200])
    assert f"within {READ_TIMEOUT_SECONDS:.1f} s" in target.log()


def rst_close(conn: socket.socket) -> None:
    """Close with a reset, as a client that crashed or lost its network does."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


@pytest.mark.parametrize("scheme", SCHEMES, ids=[scheme.name for scheme in SCHEMES])
@pytest.mark.parametrize("close", [socket.socket.close, rst_close], ids=["fin", "reset"])
def test_clients_that_leave_mid_body_store_nothing(
    target: Target, scheme: Scheme, close: Callable[[socket.socket], None]
) -> None:
    """Half of a validly signed body, then gone: nothing stored, for any cut."""
    event_id, body, headers = valid_delivery(scheme)
    target.valid_ids.discard(event_id)  # must not be stored
    for framing in ("length", "chunked"):
        data = request_bytes(f"/webhooks/{scheme.name}", headers, body, framing=framing)
        cuts = range(len(data) - len(body) - 2, len(data) - 1, max(1, len(body) // 20))
        for cut in cuts:
            conn = socket.create_connection(("127.0.0.1", target.port), timeout=5)
            conn.sendall(data[:cut])
            close(conn)
            target.bad_requests += 1
    time.sleep(0.5)  # let the last ones reach the database, if they were going to
    assert event_id not in target.stored_ids()


def test_without_the_deadline_two_slow_clients_starve_stock_gthread(
    target: Target, stock_gthread: GunicornServer
) -> None:
    """The control: the same attack starves gunicorn's own worker, so the tests above can fail."""
    scheme = SCHEMES[0]
    with Slowloris(stock_gthread.port, scheme, 2):
        time.sleep(0.5)
        event_id, body, headers = valid_delivery(scheme)
        target.valid_ids.add(event_id)  # stored once the slow clients leave
        with (
            socket.create_connection(("127.0.0.1", stock_gthread.port), timeout=READ_TIMEOUT_SECONDS + 3) as conn,
            pytest.raises(TimeoutError),
        ):
            conn.sendall(request_bytes(f"/webhooks/{scheme.name}", headers, body))
            conn.recv(65536)
    assert "request_too_slow" not in stock_gthread.log()
