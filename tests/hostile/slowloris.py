"""A slowloris: connections that each send part of a request, then a byte now and then, forever."""

from __future__ import annotations

import socket
import threading

from tests.hostile.schemes import MARKER, Scheme, bad_document, encode
from tests.hostile.wire import parse_answer, request_bytes

TRICKLE_INTERVAL_SECONDS = 0.3


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
