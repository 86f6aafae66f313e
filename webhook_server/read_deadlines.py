"""Read deadlines for gunicorn's gthread worker: slow clients cannot starve its threads, and a
request gunicorn cannot serve is a 4xx, never a 5xx. Shared by the webhook server
(webhook_server/web/thread_worker.py) and the dashboard, which must not import the server.

gthread gives a new connection a thread for up to 5 s while it waits for the first byte, then
reads the headers and the body with blocking reads and no timeout. A client that sends part of
a request and stalls (slowloris) holds that thread for as long as it keeps the connection
open; workers x threads of them and nothing is answered any more (measured with stock gthread:
8 stalled connections against 2 x 4 threads left 5 of 8 valid deliveries unanswered,
indefinitely; 24 idle connections delayed every delivery by 10-15 s; six connections that sent
a request head without its last line left the dashboard's 4 threads silent for 45 s and more).

Here a new connection waits for its first byte in the poller, not in a thread, and is closed
if it sends nothing within ``read_timeout``. Each request must then arrive in full within
``read_timeout`` seconds of the moment a thread takes it up; a client still sending after that
has its connection shut down: gunicorn sees the end of the stream, frees the thread, and one
warning line names the client (never the body). A proxy in front (deploy/) absorbs slow
clients before they reach gunicorn; this is the bound when there is none, or a misconfigured one.

gunicorn answers a transfer coding it does not implement (``Transfer-Encoding: gzip, chunked``)
with 501, as RFC 9112 suggests. It is the client's error, and a 5xx anyone can cause at will
would trip every alert on 5xx at the balancer: here it is a 400 like any other bad header.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from gunicorn.http.errors import InvalidHeader, UnsupportedTransferCoding
from gunicorn.workers import gthread

logger = logging.getLogger(__name__)


class _DeadlineSocket:
    """A connection's socket whose reads stop at the current request's deadline.

    gthread switches a connection to blocking mode when a thread takes it up for a request and
    back to non-blocking when it returns to the poller; that switch starts and clears the
    deadline. Everything but ``recv`` and ``setblocking`` is the socket's own.
    """

    def __init__(self, sock: socket.socket, read_timeout: float, on_cut_off: Callable[[], object]) -> None:
        self._sock = sock
        self._read_timeout = read_timeout
        self._on_cut_off = on_cut_off
        self._deadline: float | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)
        self._deadline = time.monotonic() + self._read_timeout if flag else None

    def recv(self, size: int, *flags: int) -> bytes:
        if self._deadline is None:
            return self._sock.recv(size, *flags)
        remaining = self._deadline - time.monotonic()
        if remaining > 0:
            prior = self._sock.gettimeout()  # gunicorn's own body drain sets one
            self._sock.settimeout(remaining if prior is None else min(prior, remaining))
            try:
                return self._sock.recv(size, *flags)
            except TimeoutError:
                if self._deadline - time.monotonic() > 0:
                    raise  # the caller's own, shorter timeout
            finally:
                self._sock.settimeout(prior)
        return self._cut_off()

    def _cut_off(self) -> bytes:
        """End the stream as if the client had closed it: gunicorn then frees the thread quietly."""
        self._deadline = None
        self._on_cut_off()
        logger.warning(
            "closed a connection from %s: its request did not arrive within %s s",
            _peer(self._sock),
            self._read_timeout,
            extra={"reason": "request_too_slow"},
        )
        with contextlib.suppress(OSError):  # already gone
            self._sock.shutdown(socket.SHUT_RDWR)
        return b""


def _peer(sock: socket.socket) -> str:
    try:
        return str(sock.getpeername()[0])
    except OSError:
        return "a client that already left"


def with_read_deadlines(
    base: type[gthread.ThreadWorker], read_timeout: float, on_cut_off: Callable[[], object]
) -> type[gthread.ThreadWorker]:
    """``base`` (gthread's worker or a subclass) with every request read within ``read_timeout``
    seconds; ``on_cut_off`` is called for each connection cut off (a metric's counter)."""

    class ThreadWorker(base):  # type: ignore[valid-type,misc]
        def enqueue_req(self, conn: gthread.TConn) -> None:
            # Every connection passes here before a thread reads from it, new or kept alive.
            if not isinstance(conn.sock, _DeadlineSocket):
                conn.sock = _DeadlineSocket(conn.sock, read_timeout, on_cut_off)
            if conn.initialized or conn.data_ready:
                super().enqueue_req(conn)
            else:
                self._wait_for_first_byte(conn)

        def _wait_for_first_byte(self, conn: gthread.TConn) -> None:
            """A new connection waits in the poller until it sends something, not in a thread:
            gthread would give it one for up to 5 s, and idle connections would hold them all.
            One that says nothing within ``read_timeout`` is closed (gthread's pending path)."""
            conn.sock.setblocking(False)
            conn.timeout = time.monotonic() + read_timeout
            self.pending_conns.append(conn)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

        def murder_pending(self) -> None:
            if not self.alive:
                # Stopping: a connection that has said nothing gets what gunicorn gives a kept-alive
                # one, not the whole read timeout. Not nothing: one accepted just before the stop
                # may have its request on the way, and closing it would fail that request.
                linger = time.monotonic() + gthread.STOP_KEEPALIVE_LINGER
                for conn in self.pending_conns:
                    conn.timeout = min(conn.timeout, linger)  # the same cap for all keeps the order
            super().murder_pending()

        def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
            if isinstance(exc, UnsupportedTransferCoding):
                exc = InvalidHeader("TRANSFER-ENCODING", req=req)
            super().handle_error(req, client, addr, exc)

    return ThreadWorker
