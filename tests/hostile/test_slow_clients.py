"""Slow clients (slowloris), bodies that never end, clients that leave mid-body.

Without a proxy in front, gthread gives each connection a thread and reads it with no
timeout: a few stalled clients held every thread for as long as they liked. The server's
worker (webhook_server.slow_clients) cuts a request off WEBHOOK_READ_TIMEOUT after a thread
takes it up, so valid deliveries queue behind slow clients for a bounded time and are answered.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.hostile.conftest import READ_TIMEOUT_SECONDS, Target
from tests.hostile.schemes import MARKER, SCHEMES, Scheme, bad_document, encode, valid_delivery
from tests.hostile.wire import parse_answer, request_bytes
from tests.servers import GunicornServer

SERVER_THREADS = 2 * 4  # the suite's server: 2 workers x GunicornServer's 4 threads
# More slow connections than the server has threads, three times over.
SLOW_CONNECTIONS = 3 * SERVER_THREADS
ATTACK_SECONDS = 3 * READ_TIMEOUT_SECONDS
TRICKLE_INTERVAL_SECONDS = 0.3
# A delivery queued behind slow clients waits for a few deadlines at most (a worker's queue
# ahead of it, its threads cutting one slow client each per deadline); plus room for a busy box.
DELIVERY_BOUND_SECONDS = 4 * READ_TIMEOUT_SECONDS + 4


def slow_openings(scheme: Scheme) -> list[tuple[str, bytes, bytes]]:
    """(kind, what is sent at once, what is then trickled forever): every phase of a request."""
    event_id, document = bad_document(scheme)
    body = encode(document)
    headers = scheme.sign(body, event_id)
    path = f"/webhooks/{scheme.name}"
    full = request_bytes(path, headers, body)
    head = full[: full.index(b"\r\n\r\n") + 4]
    return [
        ("request-line", b"POST " + path.encode(), b"a"),
        ("headers", head[:-4], b"X-Slow: " + MARKER.encode() + b"\r\n"),
        ("body", head + body[:10], b" "),
        ("chunked", request_bytes(path, headers, body, framing="chunked")[: -len(b"0\r\n\r\n")], b"1\r\n \r\n"),
    ]


class Slowloris:
    """Holds ``count`` connections, each sending a byte now and then and never finishing;
    a connection the server closes is opened again, as the real tool does."""

    def __init__(self, port: int, scheme: Scheme, count: int) -> None:
        self.port = port
        self.openings = slow_openings(scheme)
        self.count = count
        self.closed_by_server = 0
        self.answers: list[int | None] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slowloris", daemon=True)

    def __enter__(self) -> Slowloris:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _open(self, index: int) -> tuple[socket.socket, bytes]:
        _kind, first, trickle = self.openings[index % len(self.openings)]
        conn = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        conn.sendall(first)
        return conn, trickle

    def _run(self) -> None:
        conns = [self._open(i) for i in range(self.count)]
        try:
            while not self._stop.wait(TRICKLE_INTERVAL_SECONDS):
                for i, (conn, trickle) in enumerate(conns):
                    if self._still_open(conn, trickle):
                        continue
                    conn.close()
                    self.closed_by_server += 1
                    conns[i] = self._open(i)
        finally:
            for conn, _ in conns:
                conn.close()

    def _still_open(self, conn: socket.socket, trickle: bytes) -> bool:
        try:
            conn.sendall(trickle)
            conn.setblocking(False)
            try:
                data = conn.recv(65536)
            except BlockingIOError:
                return True  # nothing to read: still being held
            finally:
                conn.setblocking(True)
        except OSError:
            return False  # reset
        if data:  # an answer (a refusal) before the server closed: it must not be a 5xx
            self.answers.append(parse_answer(data).status)
        return False


def timed_delivery(target: Target, scheme: Scheme) -> tuple[int | None, float]:
    started = time.monotonic()
    answer = target.deliver_valid(scheme)
    return answer.status, time.monotonic() - started


def test_slow_clients_cannot_starve_valid_deliveries(target: Target) -> None:
    """Once, not per scheme: slow clients are cut off before any provider sees the request."""
    scheme = SCHEMES[0]
    results: list[tuple[int | None, float]] = []
    with Slowloris(target.port, scheme, SLOW_CONNECTIONS) as attack:
        time.sleep(0.5)  # every thread taken
        deadline = time.monotonic() + ATTACK_SECONDS
        while time.monotonic() < deadline:
            results.append(timed_delivery(target, scheme))
    target.bad_requests += SLOW_CONNECTIONS + attack.closed_by_server
    assert [status for status, _ in results] == [200] * len(results)
    assert max(seconds for _, seconds in results) < DELIVERY_BOUND_SECONDS, results
    # The server cut slow clients off itself, every thread's worth, and answered none with a 5xx.
    assert attack.closed_by_server >= SERVER_THREADS, attack.closed_by_server
    assert all(status is None or 400 <= status < 500 for status in attack.answers), attack.answers


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


@pytest.fixture
def stock_gthread(database_url: str, tmp_path: Path) -> Iterator[GunicornServer]:
    """gunicorn's own gthread worker: ``-k gthread`` on the command line overrides the config."""
    server = GunicornServer(
        database_url, tmp_path / "stock.log", gunicorn_args=("-k", "gthread"), WEBHOOK_WORKERS="1", WEBHOOK_THREADS="2"
    )
    try:
        server.wait_until_healthy()
        yield server
    finally:
        server.kill()


def test_without_the_deadline_two_slow_clients_starve_stock_gthread(stock_gthread: GunicornServer) -> None:
    """The control: the same attack starves gunicorn's own worker, so the tests above can fail."""
    scheme = SCHEMES[0]
    with Slowloris(stock_gthread.port, scheme, 2):
        time.sleep(0.5)
        _event_id, body, headers = valid_delivery(scheme)
        with (
            socket.create_connection(("127.0.0.1", stock_gthread.port), timeout=READ_TIMEOUT_SECONDS + 3) as conn,
            pytest.raises(TimeoutError),
        ):
            conn.sendall(request_bytes(f"/webhooks/{scheme.name}", headers, body))
            conn.recv(65536)
    assert "request_too_slow" not in stock_gthread.log()
