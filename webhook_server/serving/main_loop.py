"""gthread's worker whose main loop answers two requests itself, never a request thread, when
they arrive whole (it peeks at a readable connection: raw_http.py):

- ``GET /health``, as soon as its bytes arrive, so busy threads cannot make an instance look
  dead (serving/health_check.py);
- a ``POST /webhooks/<provider>`` with a valid signature (``webhooks.DirectIngest``): verified
  here, handed to the inbox's writer, and answered 200 here once the writer has committed it.
  gthread would hand it to a thread and back, and run it through Flask: that cost more CPU than
  verifying and committing the event (bench/breakdown.py), and a thread waiting for each commit.
  A commit that fails, or does not happen within ``WEBHOOK_DB_TIMEOUT``, sends the request, as
  read, to a thread: the Flask view then answers it as it answers every other request (a 503, or
  a spooled 200), without trying the database a second time.

Anything else goes to the threads untouched, as gthread would send it.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from gunicorn.workers import gthread

from webhook_server.errors import DatabaseUnavailable
from webhook_server.inbox import Pending
from webhook_server.receiver import DIRECT_INGEST_KEY
from webhook_server.serving import health_check, metrics, raw_http
from webhook_server.serving.drain import DRAINING, health_answer

if TYPE_CHECKING:  # the app gives the worker its DirectIngest: webhooks imports serving.metrics
    from webhook_server.webhooks import Delivery, DirectIngest


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

    def run(self) -> None:
        cfg = self.cfg
        # Only plain HTTP/1.x is read in the main loop: TLS, the PROXY protocol and h2c are gunicorn's.
        in_main_loop = not cfg.is_ssl and cfg.proxy_protocol == "off" and cfg.http2_cleartext == "off"
        self._head_limits = raw_http.HeadLimits.of(cfg) if in_main_loop else None
        # None for an app that is not ours (no deliveries to take): only health checks then.
        self._direct: DirectIngest | None = getattr(self.wsgi, "extensions", {}).get(DIRECT_INGEST_KEY)
        self._awaiting_commit: deque[_AwaitingCommit] = deque()
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
        if self._head_limits is None:
            return False
        started = time.monotonic()
        data = raw_http.peek(conn.sock)
        head = raw_http.parse(data, self._head_limits)
        if head is None:
            return False
        if health_check.is_health_check(head):
            self._release(conn, waiting)
            if raw_http.consume(conn.sock, head.length):
                self._answer_health_check(conn, head, started)
            else:
                self._close(conn)
            return True
        return self._took_delivery(conn, waiting, head, data, started)

    def _answer_health_check(self, conn: gthread.TConn, head: raw_http.RequestHead, started: float) -> None:
        body, status = health_answer()
        sent = self._answer(conn, head, status, raw_http.json_payload(body), started)
        if sent:
            metrics.child(metrics.REQUESTS, health_check.ROUTE, str(status)).inc()

    def _took_delivery(
        self,
        conn: gthread.TConn,
        waiting: deque[gthread.TConn],
        head: raw_http.RequestHead,
        data: bytes,
        started: float,
    ) -> bool:
        """Verify a whole delivery and hand it to the inbox's writer; False: it is the threads'."""
        if self._direct is None or head.method != "POST" or head.content_length is None:
            return False
        end = head.length + head.content_length
        if end > len(data):
            return False  # the body is still on its way: a thread waits for it, as gthread does
        delivery = self._direct.take(head.path, head.headers, data[head.length : end])
        if delivery is None:
            return False
        self._release(conn, waiting)
        if not raw_http.consume(conn.sock, end):
            self._close(conn)  # the client left: nothing stored, nothing to answer
            return True
        awaiting = _AwaitingCommit(conn, head, data[:end], delivery, started)
        try:
            pending = self._direct.submit(delivery, partial(self.method_queue.defer, self._committed, awaiting))
        except DatabaseUnavailable:  # the circuit opened since take(): the view answers at once
            self._to_threads(awaiting)
            return True
        if pending.settled:
            return True  # already on the method queue
        self._awaiting_commit.append(awaiting)
        return True

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
        if self._awaiting_commit:  # wake up for the oldest delivery's deadline
            timeout = min(timeout, max(0.0, self._awaiting_commit[0].pending.deadline - time.monotonic()))
        super().wait_for_and_dispatch_events(timeout)
        self._expire_commits()

    def _expire_commits(self) -> None:
        """Deliveries whose commit has not come within WEBHOOK_DB_TIMEOUT fail (a hung
        connection can hold the writer past any deadline it could enforce itself)."""
        now = time.monotonic()
        while self._awaiting_commit:
            pending = self._awaiting_commit[0].pending
            if not pending.settled and pending.deadline > now:
                break
            self._awaiting_commit.popleft()
            self._direct.expire(pending)

    def _answer(
        self, conn: gthread.TConn, head: raw_http.RequestHead, status: int, payload: bytes, started: float
    ) -> bool:
        """Send an answer composed in the main loop, log it, and keep the connection or close it.
        gunicorn's keep-alive rules; closed while draining, as every answer then is
        (lifecycle.close_when_draining). False if it could not be sent whole."""
        keep_alive = (
            head.keep_alive
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
        self.nr_conns -= 1
        conn.close()
