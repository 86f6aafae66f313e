"""A destination application on loopback: verifies our Standard Webhooks signature, records what it got.

Each path behaves as the test sets it (``behave``): answer a status, a sequence of statuses,
hang, redirect, send a huge body. Every request is recorded with its arrival time, body,
headers and whether its signature verified with the destination's secret.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standardwebhooks


@dataclass(frozen=True)
class Received:
    path: str
    body: bytes
    headers: dict[str, str]
    verified: bool
    at: float  # monotonic
    status: int  # what the app answered (0: it never answered)


@dataclass
class Behaviour:
    """What a path answers: ``statuses`` one per request (the last repeats), or a special act."""

    statuses: list[int] = field(default_factory=lambda: [200])
    hang: float = 0.0
    location: str | None = None
    huge: int = 0  # bytes of response body to stream
    retry_after: str | None = None
    answer: bytes | None = None  # the body of the answer; default: a short JSON or error text
    delay: float = 0.0  # seconds before answering
    reason: str | None = None  # the status line's reason phrase, whatever it holds
    fail_once: set[str] = field(default_factory=set)  # event ids answered 500 the first time


class DestinationApp:
    """A threading HTTP/1.1 server on 127.0.0.1:<free port>, stopped by ``close``."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[Received] = []
        self.behaviours: dict[str, Behaviour] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_POST(self) -> None:
                app.handle(self)

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # 5 by default: a burst of connections would wait for a SYN retry (1 s)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def behave(self, path: str, **settings: object) -> None:
        with self._lock:
            self.behaviours[path] = Behaviour(**settings)  # type: ignore[arg-type]

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        length = int(request.headers.get("content-length", "0"))
        body = request.rfile.read(length)
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            standardwebhooks.Webhook(self.secret).verify(body, headers, json_parse=False)
            verified = True
        except standardwebhooks.WebhookVerificationError:
            verified = False
        with self._lock:
            behaviour = self.behaviours.get(request.path, Behaviour())
            status = behaviour.statuses.pop(0) if len(behaviour.statuses) > 1 else behaviour.statuses[0]
            event_id = headers.get("webhook-server-event-id", "")
            if event_id in behaviour.fail_once:
                behaviour.fail_once.discard(event_id)
                status = 500
            answered = 0 if behaviour.hang else status
            self.received.append(Received(request.path, body, headers, verified, arrived, answered))
        if behaviour.delay:
            time.sleep(behaviour.delay)
        if behaviour.hang:
            self._closing.wait(behaviour.hang)
            return
        request.send_response(status, behaviour.reason)
        if behaviour.location:
            request.send_header("Location", behaviour.location)
        if behaviour.retry_after:
            request.send_header("Retry-After", behaviour.retry_after)
        if behaviour.huge:
            request.send_header("Content-Length", str(behaviour.huge))
            request.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(behaviour.huge // len(chunk)):
                    request.wfile.write(chunk)
            except OSError:
                pass  # the forwarder closed the connection after its cap: what the test wants
            return
        answer = behaviour.answer
        if answer is None:
            answer = b'{"ok":true}' if status < 300 else b"the destination's error page"
        request.send_header("Content-Length", str(len(answer)))
        request.end_headers()
        request.wfile.write(answer)

    def close(self) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()
