"""gthread's worker whose main loop answers two requests itself, never a request thread, when
they arrive whole (it peeks at a readable connection: raw_http.py):

- ``GET /health``, as soon as its bytes arrive, so busy threads cannot make an instance look
  dead (web/health.py);
- a ``POST /webhooks/<endpoint>`` with a valid signature (``ingest.DirectIngest``, handed to the
  worker by gunicorn's ``post_worker_init`` hook: ``take_deliveries``): verified
  here, handed to the inbox's writer, and answered 200 here once the writer has committed it.
  gthread would hand it to a thread and back, and run it through Flask: that cost more CPU than
  verifying and committing the event (bench/breakdown.py), and a thread waiting for each commit.
  A commit that fails, or does not happen within ``WEBHOOK_DB_TIMEOUT``, sends the request, as
  read, to a thread: the Flask view then answers it as it answers every other request (a 503, or
  a spooled 200), without trying the database a second time.

Anything else goes to the threads untouched, as gthread would send it. The head is read by
gunicorn's own ``Request`` (raw_http.py), and any exception while peeking, parsing or verifying
also leaves the request to a thread: reading untrusted bytes in the main loop must never end
the worker (a ``ValueError`` from a 4,301-digit ``Content-Length`` once did). With
``WEBHOOK_MAIN_LOOP=off`` the worker is gthread's own (thread_worker.py), the reference the
tests compare these answers with (tests/differential/).

A connection the main loop closes is closed as gunicorn closes one: its write side shut down
first, then what the client still sends drained for a moment, so the client reads the whole
answer and an end of stream rather than a reset. gunicorn waits for that in the thread that
closes; here the poller does, and the main loop goes on.
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from gunicorn.workers import gthread

from webhook_server.errors import DatabaseUnavailable
from webhook_server.inbox import Pending
from webhook_server.web import health, metrics, raw_http
from webhook_server.web.drain import DRAINING
from webhook_server.web.ingest import Delivery, DirectIngest

logger = logging.getLogger(__name__)

# gunicorn's close after an answer (util.close_graceful): how long, and how much, is drained.
CLOSE_LINGER_SECONDS = 2.0
CLOSE_DRAIN_BYTES = 64 * 1024
# A request the main loop failed to read is logged at most this often per worker.
SURPRISE_LOG_INTERVAL = 60.0


@dataclass(slots=True, eq=False)
class _Closing:
    """A connection whose write side is shut down, drained until the client closes or time runs out."""

    conn: gthread.TConn
    deadline: float  # monotonic
    drained: int = 0


@dataclass(slots=True)
class _AwaitingCommit:
    """A delivery taken off its connection by the main loop, waiting for the inbox's writer."""

    conn: gthread.TConn
    head: raw_http.RequestHead
    request: bytes  # as read off the socket: a thread gets it back if the commit fails
    delivery: Delivery
    started: float  # monotonic, when its bytes were first looked at

    @property
    def pending(self) -> Pending:
        assert self.delivery.pending is not None, "submitted before it waits"
        return self.delivery.pending


class MainLoopWorker(gthread.ThreadWorker):
    """gthread's worker; its main loop answers health checks and whole, signed deliveries."""

    alive: bool  # gthread's: False once the worker stops
    # Whole, signed deliveries are taken once this is handed over (take_deliveries); until then,
    # and for an app that is not ours, only health checks.
    _direct: DirectIngest | None = None

    def take_deliveries(self, direct: DirectIngest) -> None:
        """From gunicorn's ``post_worker_init`` hook (config.py), once the app is loaded: answer
        whole, signed deliveries through ``direct`` from now on."""
        self._direct = direct

    def run(self) -> None:
        cfg = self.cfg
        # Only plain HTTP/1.x is read in the main loop: TLS, the PROXY protocol and h2c are
        # gunicorn's; so is a SCRIPT_NAME, which changes the path gunicorn gives the app.
        self._head_cfg = raw_http.FixedConfig(cfg)
        self._in_main_loop = (
            not cfg.is_ssl
            and cfg.proxy_protocol == "off"
            and cfg.http2_cleartext == "off"
            and not os.environ.get("SCRIPT_NAME")
        )
        self._awaiting_commit: deque[_AwaitingCommit] = deque()
        self._closing: deque[_Closing] = deque()  # in deadline order: every one gets the same linger
        self._surprise_logged_at = -SURPRISE_LOG_INTERVAL
        super().run()

    def on_pending_socket_readable(self, conn: gthread.TConn, client: socket.socket) -> None:
        if not self._answered_in_main_loop(conn, self.pending_conns):
            super().on_pending_socket_readable(conn, client)

    def on_client_socket_readable(self, conn: gthread.TConn, client: socket.socket) -> None:
        if not self._answered_in_main_loop(conn, self.keepalived_conns):
            conn.data_ready = True  # a connection the main loop answered before may be uninitialized
            super().on_client_socket_readable(conn, client)

    def _answered_in_main_loop(self, conn: gthread.TConn, waiting: deque[gthread.TConn]) -> bool:
        """Take a health check or a whole signed delivery waiting on ``conn``; False: it is the threads'."""
        if not self._in_main_loop:
            return False
        started = time.monotonic()
        try:
            data = raw_http.peek(conn.sock)
            head = raw_http.parse(data, self._head_cfg, conn.client)
            if head is None:
                return False
            if health.is_health_check(head):
                delivery = None
            else:
                delivery = self._delivery(head, data)
                if delivery is None:
                    return False
        except Exception as exc:  # nothing was consumed: a request thread reads it as gunicorn would
            self._log_surprise(conn, exc)
            return False
        self._release(conn, waiting)
        if delivery is None:
            if raw_http.consume(conn.sock, head.length):
                self._answer_health_check(conn, head, started)
            else:
                self._close(conn)
        else:
            self._submit(conn, head, data[: head.length + head.content_length], delivery, started)
        return True

    def _log_surprise(self, conn: gthread.TConn, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._surprise_logged_at < SURPRISE_LOG_INTERVAL:
            return
        self._surprise_logged_at = now
        logger.error(
            "the main loop could not read a request from %s (%s); a request thread reads it instead. "
            "This is a bug: please report it with this line (at most one a minute is logged)",
            raw_http.client_address(conn.client),
            type(exc).__name__,
            exc_info=exc,
            extra={"reason": "main_loop_surprise"},
        )

    def _answer_health_check(self, conn: gthread.TConn, head: raw_http.RequestHead, started: float) -> None:
        body, status = health.health_answer()
        sent = self._answer(conn, head, status, raw_http.json_payload(body), started)
        if sent:
            metrics.child(metrics.REQUESTS, health.ROUTE, str(status)).inc()

    def _delivery(self, head: raw_http.RequestHead, data: bytes) -> Delivery | None:
        """The verified delivery in ``data``, whole, or None: it is the threads'."""
        if self._direct is None or head.method != "POST":
            return None
        end = head.length + head.content_length
        if end > len(data):
            return None  # the body is still on its way: a thread waits for it, as gthread does
        return self._direct.take(head.path, head.url, head.headers, data[head.length : end])

    def _submit(
        self, conn: gthread.TConn, head: raw_http.RequestHead, request: bytes, delivery: Delivery, started: float
    ) -> None:
        """Take the delivery off its connection and hand it to the inbox's writer."""
        assert self._direct is not None
        if not raw_http.consume(conn.sock, len(request)):
            self._close(conn)  # the client left: nothing stored, nothing to answer
            return
        awaiting = _AwaitingCommit(conn, head, request, delivery, started)
        try:
            pending = self._direct.submit(delivery, partial(self.method_queue.defer, self._committed, awaiting))
        except DatabaseUnavailable:  # the circuit opened since take(): the view answers at once
            self._to_threads(awaiting)
            return
        if not pending.settled:  # else already on the method queue
            self._awaiting_commit.append(awaiting)

    def _committed(self, awaiting: _AwaitingCommit) -> None:
        """On the main loop, once the writer (or ``_expire_commits``) settled the delivery."""
        assert self._direct is not None
        payload = self._direct.answer(awaiting.delivery)
        if payload is None:
            self._to_threads(awaiting)
        else:
            self._answer(awaiting.conn, awaiting.head, 200, payload, awaiting.started)

    def _to_threads(self, awaiting: _AwaitingCommit) -> None:
        """Give a request already read back to its connection, and the connection to a thread."""
        conn = awaiting.conn
        conn.init()  # plain HTTP/1.x here, so only the parser is made: no I/O
        conn.parser.unreader.unread(awaiting.request)
        conn.data_ready = True
        self.enqueue_req(conn)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        now = time.monotonic()
        if self._awaiting_commit:  # wake up for the oldest delivery's deadline
            timeout = min(timeout, max(0.0, self._awaiting_commit[0].pending.deadline - now))
        if self._closing:
            timeout = min(timeout, max(0.0, self._closing[0].deadline - now))
        super().wait_for_and_dispatch_events(timeout)
        self._expire_commits()
        self._expire_closing()

    def _expire_commits(self) -> None:
        """Deliveries whose commit has not come within WEBHOOK_DB_TIMEOUT fail (a hung
        connection can hold the writer past any deadline it could enforce itself)."""
        now = time.monotonic()
        while self._awaiting_commit:
            pending = self._awaiting_commit[0].pending
            if not pending.settled and pending.deadline > now:
                break
            self._awaiting_commit.popleft()
            assert self._direct is not None, "only deliveries it took await a commit"
            self._direct.expire(pending)

    def _answer(
        self, conn: gthread.TConn, head: raw_http.RequestHead, status: int, payload: bytes, started: float
    ) -> bool:
        """Send an answer composed in the main loop, log it, and keep the connection or close it.
        gunicorn's keep-alive rules (gthread's handle_request, its Response.should_close), its
        count towards ``max_requests``; closed while draining, as every answer then is
        (lifecycle.close_when_draining). False if it could not be sent whole."""
        self.nr += 1
        if self.nr >= self.max_requests and self.alive:
            self.log.info("Autorestarting worker after current request.")
            self.alive = False
        keep_alive = (
            not head.should_close
            and self.cfg.keepalive > 0
            and self.alive
            and len(self.keepalived_conns) < self.max_keepalived
            and not DRAINING.is_set()
        )
        data = raw_http.response(head, status, payload, close=not keep_alive)
        sent = raw_http.send(conn.sock, data)
        if sent:
            elapsed = timedelta(seconds=time.monotonic() - started)
            environ = raw_http.access_environ(head, conn.client)
            self.log.access(raw_http.Answered(status, len(data)), None, environ, elapsed)
        if not (sent and keep_alive):
            self._close(conn)
        else:
            conn.set_timeout()
            self.keepalived_conns.append(conn)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))
        return sent

    def _release(self, conn: gthread.TConn, waiting: deque[gthread.TConn]) -> None:
        """Take ``conn`` out of the poller and its waiting line: the main loop answers it."""
        self.poller.unregister(conn.sock)
        waiting.remove(conn)

    def _close(self, conn: gthread.TConn) -> None:
        """Close as gunicorn does (util.close_graceful), without waiting: shut the write side
        down, then let the poller drain what the client still sends until it closes too."""
        self.nr_conns -= 1
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:  # already gone
            conn.close()
            return
        closing = _Closing(conn, time.monotonic() + CLOSE_LINGER_SECONDS)
        self._closing.append(closing)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._drain, closing))

    def _drain(self, closing: _Closing, client: socket.socket) -> None:
        try:
            data = client.recv(CLOSE_DRAIN_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        closing.drained += len(data)
        if not data or closing.drained >= CLOSE_DRAIN_BYTES:
            self._closing.remove(closing)
            self._finish_close(closing)

    def _expire_closing(self) -> None:
        now = time.monotonic()
        while self._closing and self._closing[0].deadline <= now:
            self._finish_close(self._closing.popleft())

    def _finish_close(self, closing: _Closing) -> None:
        self.poller.unregister(closing.conn.sock)
        closing.conn.close()
