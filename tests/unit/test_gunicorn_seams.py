"""Every non-public part of gunicorn the server's worker relies on, with what it is for.

The worker's main loop (web/main_loop.py) answers health checks and signed deliveries inside
gthread's own loop, and the read deadlines (read_deadlines.py) wrap gthread's hand-off to its
threads: both use names gunicorn does not promise to keep. ``setup.cfg`` pins gunicorn below 28;
when an upgrade moves one of these, this module fails first, with a list that says what breaks,
instead of a worker failing under traffic.
"""

from __future__ import annotations

import inspect
import os
import socket
from collections.abc import Iterator

import pytest
from gunicorn import glogging, util
from gunicorn.config import Config
from gunicorn.http.body import LengthReader
from gunicorn.http.message import Request
from gunicorn.http.unreader import IterUnreader
from gunicorn.workers import gthread

# gthread.ThreadWorker's state, set in its __init__: the name, and what the worker does with it.
WORKER_STATE = {
    "pending_conns": "new connections waiting in the poller for their first bytes (main loop, deadlines)",
    "keepalived_conns": "kept-alive connections; the main loop takes an answered one out and puts it back",
    "method_queue": "runs a callback on the main loop: the inbox's writer settles a delivery through it",
    "nr_conns": "open connections; the main loop counts down the ones it closes",
    "poller": "the selector the main loop registers and unregisters connections with",
    "max_keepalived": "gunicorn's cap on kept-alive connections, applied to the main loop's answers",
    "max_requests": "--max-requests, which the main loop's answers count towards",
    "nr": "requests served so far, for max_requests",
    "alive": "False once the worker stops: answers then close their connection",
}
# gthread.ThreadWorker's methods the worker overrides or calls.
WORKER_METHODS = {
    "run": "the main loop sets up its state, then runs gthread's",
    "enqueue_req": "hands a connection to a thread: the deadlines wrap it, the main loop gives requests back",
    "on_pending_socket_readable": "a new connection's first bytes: the main loop peeks at them here",
    "on_client_socket_readable": "a kept-alive connection's next request: likewise",
    "wait_for_and_dispatch_events": "the poller's wait: the main loop wakes for its commit and close deadlines",
    "murder_pending": "closes idle new connections: the deadlines cap them while stopping",
    "handle_error": "the answer to a request gunicorn refuses: a 501 for a transfer coding becomes a 400",
}
# gthread.TConn (one connection), as built for a socket and after ``init``.
CONNECTION_STATE = {
    "sock": "the socket the main loop peeks at, reads, answers and shuts down",
    "client": "the peer's address, for gunicorn's trust of forwarded headers and the access log",
    "timeout": "when a waiting connection is closed (keep-alive, pending, deadlines)",
    "data_ready": "tells a thread the request's bytes have arrived already",
    "initialized": "whether the connection has its parser: the deadlines wait for the first byte if not",
    "parser": "after init: the request parser whose unreader takes back a request the main loop read",
}


@pytest.fixture
def worker() -> gthread.ThreadWorker:
    cfg = Config()
    return gthread.ThreadWorker(0, os.getpid(), [], None, 30, cfg, glogging.Logger(cfg))


@pytest.fixture
def connection() -> Iterator[gthread.TConn]:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        yield gthread.TConn(Config(), ours, ("127.0.0.1", 40000), ("127.0.0.1", 8000))


def test_the_workers_state(worker: gthread.ThreadWorker) -> None:
    missing = {name: use for name, use in WORKER_STATE.items() if name not in vars(worker)}
    assert not missing, missing


def parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_the_workers_methods() -> None:
    worker_class = gthread.ThreadWorker
    missing = {name: use for name, use in WORKER_METHODS.items() if not callable(getattr(worker_class, name, None))}
    assert not missing, missing
    # The two readable-socket callbacks and the poller's wait are called with these arguments.
    assert parameters(worker_class.on_pending_socket_readable) == ["self", "conn", "client"]
    assert parameters(worker_class.on_client_socket_readable) == ["self", "conn", "client"]
    assert parameters(worker_class.wait_for_and_dispatch_events) == ["self", "timeout"]


def test_the_connections_state(connection: gthread.TConn) -> None:
    connection.init()  # plain HTTP: makes the parser, no I/O
    missing = {name: use for name, use in CONNECTION_STATE.items() if name not in vars(connection)}
    assert not missing, missing
    connection.parser.unreader.unread(b"GET /health HTTP/1.1\r\n\r\n")  # a request given back to a thread
    assert callable(connection.set_timeout) and callable(connection.close)


def test_the_method_queue_defers_a_call_with_its_arguments(worker: gthread.ThreadWorker) -> None:
    assert parameters(worker.method_queue.defer) == ["callback", "args"]


def test_the_stop_linger_and_the_graceful_close() -> None:
    assert isinstance(gthread.STOP_KEEPALIVE_LINGER, int | float)  # the deadlines' cap while stopping
    # The main loop closes as util.close_graceful does (without blocking): its linger and drain.
    defaults = {name: p.default for name, p in inspect.signature(util.close_graceful).parameters.items()}
    assert defaults == {"sock": inspect.Parameter.empty, "timeout": 2.0, "max_drain": 65536}


def test_a_request_head_read_from_bytes_alone() -> None:
    """raw_http.parse: gunicorn's Request over an unreader of the peeked bytes; what is left in
    the unreader's buffer is what follows the head; a Content-Length body has a LengthReader."""
    unreader = IterUnreader((b"POST /x HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}NEXT",))
    request = Request(Config(), unreader, ("127.0.0.1", 40000))
    assert unreader.buf.getvalue() == b"{}NEXT"
    assert isinstance(request.body.reader, LengthReader) and request.body.reader.length == 2
    assert (request.version, request.should_close(), request.headers) == ((1, 1), False, [("CONTENT-LENGTH", "2")])
