"""``/health`` answered by the worker's main loop, never by a request thread.

Why: gthread hands every request to a pool of ``WEBHOOK_THREADS`` threads. While Postgres is
down each delivery holds its thread for up to ``WEBHOOK_DB_TIMEOUT``; at 100 deliveries/s the
threads run out, and a health check waits in the pool's queue behind them. Measured (issue 15,
3 instances x 2 workers x 8 threads behind the shipped HAProxy, Postgres stopped for 5 s):
``/health`` p99 2.3-3.1 s, HAProxy's 1 s check timeout took every instance DOWN and HAProxy
answered 130-146 deliveries itself with a bare 503. A health check that says "alive" must not
depend on what the request threads are doing.

How: the worker's poller already waits for a connection's first bytes (thread_worker.py). When
they arrive, the main loop peeks at them (``MSG_PEEK``, nothing consumed). A complete
``GET``/``HEAD /health`` request head with no body is read and answered right there: the same
status and JSON as the Flask route (``drain.health_answer``), the same ``Connection`` rules
(HTTP/1.0 or 1.1, ``close`` while draining), one access-log line and one count in
``webhook_http_requests_total{route="/health"}``, as before. Anything else (another path, a
head split over several packets, a body, TLS, HTTP/2) goes to the pool exactly as before. Every
step is a non-blocking call on bytes already received and a reply of ~150 bytes into an empty
send buffer, so the main loop never waits on a client; a send that would not complete closes
the connection rather than wait.

Why not threads reserved for health: telling a health check from a delivery needs the same peek
at the request line, and then a second pool, its size to choose, and a hand-off per check;
answering in place costs about what gunicorn's own parsing would, with no thread at all.

Measured with this in place: the same outage (bench/outage.py), ``/health`` p50 0.7-1.1 ms,
p99 5-68 ms on a machine at load 6-12, no instance DOWN; 64 deliveries stuck on a locked table
against one instance (2 workers x 4 threads), p50 0.9 ms, p99 10-15 ms, where before no check
was answered within 5 s (tests/lifecycle/test_health.py holds it under 50 ms).
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass
from http import HTTPStatus

from gunicorn import SERVER
from gunicorn.util import http_date

# A balancer's check is ~100 bytes; a longer head goes to a thread like any other request.
MAX_HEAD_BYTES = 4096
MAX_HEADERS = 32
_REQUEST_LINE = re.compile(rb"(GET|HEAD) (/health(?:\?[!-~]{0,1000})?) HTTP/1\.([01])\r\n")
_HEAD_END = b"\r\n\r\n"
# What gunicorn accepts (gunicorn/http/message.py): a header name is an RFC 9110 token, and a
# value holds no control character but a tab.
_HEADER_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True)
class HealthCheck:
    """A complete, bodiless ``GET``/``HEAD /health`` request head at the start of the stream."""

    method: str
    target: str  # the path with its query string, as sent
    minor_version: int  # HTTP/1.x
    head_length: int  # bytes to consume from the socket once it is answered
    headers: dict[str, str]  # lower-case names

    @property
    def keep_alive(self) -> bool:
        """HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only when asked to keep it."""
        tokens = {token.strip().lower() for token in self.headers.get("connection", "").split(",")}
        return "keep-alive" in tokens if self.minor_version == 0 else "close" not in tokens


def parse(data: bytes) -> HealthCheck | None:
    """The health check at the start of ``data``, or None: then the request is the pool's business.

    None also for anything gunicorn might answer differently (a malformed header line, a body),
    so that the fast path never says 200 where gunicorn would have said 400.
    """
    line = _REQUEST_LINE.match(data)
    if line is None:
        return None
    end = data.find(_HEAD_END, line.end() - 2)
    if end < 0:
        return None  # the rest of the head is still on its way
    lines = data[line.end() : end].split(b"\r\n") if end > line.end() - 2 else []
    headers: dict[str, str] = {}
    for raw in lines[:MAX_HEADERS]:
        name, colon, value = raw.partition(b":")
        key = name.decode("latin-1").lower()
        if not colon or not _HEADER_NAME.fullmatch(name) or _BAD_VALUE.search(value) or key in headers:
            return None  # including a repeated header, which gunicorn refuses for some names
        headers[key] = value.strip(b" \t").decode("latin-1")
    if len(lines) > MAX_HEADERS or headers.get("content-length", "0") != "0" or "transfer-encoding" in headers:
        return None
    return HealthCheck(
        method=line[1].decode(),
        target=line[2].decode(),
        minor_version=int(line[3]),
        head_length=end + len(_HEAD_END),
        headers=headers,
    )


def peek(sock: socket.socket) -> HealthCheck | None:
    """The health check waiting on a non-blocking ``sock``, read without consuming it."""
    try:
        data = sock.recv(MAX_HEAD_BYTES, socket.MSG_PEEK)
    except OSError:  # nothing after all, or reset: the pool's usual path deals with it
        return None
    except ValueError:  # a TLS socket (gunicorn's own TLS) cannot peek: its checks go to the threads
        return None
    return parse(data)


def response(check: HealthCheck, body: dict[str, str], status: int, *, close: bool) -> bytes:
    """What gunicorn and Flask would send: the headers, then ``body`` as JSON (not for HEAD)."""
    payload = json.dumps(body, separators=(",", ":"), sort_keys=True).encode() + b"\n"  # as Flask's jsonify
    head = (
        f"HTTP/1.{check.minor_version} {status} {HTTPStatus(status).phrase}\r\n"
        f"Server: {SERVER}\r\n"
        f"Date: {http_date()}\r\n"
        f"Connection: {'close' if close else 'keep-alive'}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode()
    return head if check.method == "HEAD" else head + payload


def reply(sock: socket.socket, check: HealthCheck, data: bytes) -> bool:
    """Consume the check's head from ``sock`` and send ``data``; False if either fell short."""
    try:
        return len(sock.recv(check.head_length)) == check.head_length and sock.send(data) == len(data)
    except OSError:  # the client left, or the send buffer is full: close rather than wait
        return False


@dataclass(frozen=True)
class Answered:
    """What gunicorn's access logger reads of a response (logs.JsonGunicornLogger.access)."""

    status_code: int
    sent: int


def access_environ(check: HealthCheck, client: object) -> dict[str, str | None]:
    """The WSGI environ keys the access log reads, as gunicorn would have set them."""
    path, _, query = check.target.partition("?")
    return {
        "REQUEST_METHOD": check.method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "RAW_URI": check.target,
        "SERVER_PROTOCOL": f"HTTP/1.{check.minor_version}",
        "REMOTE_ADDR": str(client[0]) if isinstance(client, tuple) else None,
        "HTTP_USER_AGENT": check.headers.get("user-agent"),
    }
