"""Where a committed ``POST /webhooks/stripe`` spends its CPU, stage by stage, in one process.

bench/ingest.py gives the whole: CPU per request of gunicorn and of Postgres under load. A
sampling profiler (py-spy) on this shared 2-core machine mostly sees threads in syscalls and
attributes little of the pure-Python work, so this script measures each stage on its own, in a
loop on one thread, with the process's CPU clock (every thread, so the inbox's writer counts).

The path a valid delivery takes, the worker's main loop (web/main_loop.py):
- reading: peek at the socket, parse the head with gunicorn_h1c, take the bytes off (raw_http);
- verification: ``DirectIngest.take``: the endpoint, the Stripe signature over the raw bytes,
  the JSON parse, the event to store;
- hand-off: ``Inbox.submit`` until its callback ran, minus the psycopg insert (the queue, the
  writer thread's wake-up, the callback);
- the answer: ``DirectIngest.answer`` (its metrics), the response's bytes, sent on a socket;
- logging: the JSON access-log line gunicorn's logger writes per request (to /dev/null);
- psycopg: ``insert_events`` of one event on one connection (client side);
- Postgres: the backend's own CPU per insert, from /proc (one commit per event here).

For comparison, the path every other request takes, gthread's request thread and Flask:
- HTTP (gunicorn): parse the request from its bytes, build the WSGI environ, write the response
  to a socket (what gunicorn does around the app, not counting its thread pool and poller);
- Flask/werkzeug: the shipped app's whole WSGI call for the same delivery, minus verification,
  ``Inbox.store`` and the metrics it touches.

    .venv/bin/python bench/breakdown.py [--requests 2000]

The stages run sequentially (no concurrency, no group commit), so their sum is a floor for the
in-server cost; bench/ingest.py's numbers are the ones under load.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from measure import tree_cpu_seconds

# Before prometheus_client is imported: served metrics are multiprocess (mmap-backed) values.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="breakdown-metrics-"))

from gunicorn.config import Config
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.http.parser import RequestParser

from webhook_server import db, logs
from webhook_server.dev import samples
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.inbox import IncomingEvent, insert_events
from webhook_server.migrations import migrate
from webhook_server.schemes.stripe import StripeVerifier
from webhook_server.settings import Settings
from webhook_server.web import metrics, raw_http
from webhook_server.web.app import create_app
from webhook_server.web.ingest import Delivery, DirectIngest
from webhook_server.web.receiver import receiver_of

SECRET = "whsec_breakdown"


class Deliveries:
    """Signed Stripe deliveries with new ids, as raw HTTP requests and as (body, headers)."""

    def __init__(self) -> None:
        self.count = 0

    def next(self) -> tuple[bytes, dict[str, str]]:
        self.count += 1
        event = samples.stripe_event(event_id=f"evt_breakdown_{os.getpid()}_{self.count:09d}")
        return samples.signed_stripe_request(event, SECRET)

    def raw(self) -> bytes:
        body, headers = self.next()
        lines = [
            "POST /webhooks/stripe HTTP/1.1",
            "Host: 127.0.0.1",
            "User-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            *(f"{name}: {value}" for name, value in headers.items()),
            f"Content-Length: {len(body)}",
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def cpu_per_call(label: str, prepare: Callable[[], object], run: Callable[[object], object], n: int) -> float:
    """Mean process CPU µs of ``run(prepare())``; ``prepare`` (signing) is not counted."""
    inputs = [prepare() for _ in range(n)]
    start = time.process_time()
    for item in inputs:
        run(item)
    spent = (time.process_time() - start) / n * 1e6
    print(f"  {label:<48} {spent:7.0f} µs", file=sys.stderr)
    return spent


def gunicorn_http(deliveries: Deliveries, n: int) -> float:
    """Parse, environ, response headers and body written to a real socket, read back."""
    cfg = Config()
    ours, peer = socket.socketpair()
    reply = b'{"duplicate":false,"received":true}\n'

    def serve(raw: object) -> None:
        assert isinstance(raw, bytes)
        request = next(iter(RequestParser(cfg, iter([raw]), ("127.0.0.1", 1))))
        response, environ = gunicorn_wsgi.create(request, ours, ("127.0.0.1", 1), ("127.0.0.1", 8000), cfg)
        environ["wsgi.input"].read()
        response.start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(reply)))])
        response.write(reply)
        response.close()
        peer.recv(65536)

    try:
        return cpu_per_call("HTTP (gunicorn: parse, environ, write)", deliveries.raw, serve, n)
    finally:
        ours.close()
        peer.close()


def access_log(n: int) -> float:
    cfg = Config()
    cfg.set("accesslog", "/dev/null")
    logger = logs.JsonGunicornLogger(cfg)
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/webhooks/stripe", "REMOTE_ADDR": "127.0.0.1"}
    environ["HTTP_USER_AGENT"] = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"

    class Sent:
        status_code, sent = 200, 36

    elapsed = datetime.timedelta(microseconds=1234)
    return cpu_per_call(
        "logging (JSON access line)", lambda: None, lambda _: logger.access(Sent(), None, environ, elapsed), n
    )


def metric_updates(n: int) -> float:
    def touch(_: object) -> None:
        with metrics.of_endpoint(metrics.INGEST_SECONDS, "stripe").time():
            metrics.of_endpoint(metrics.EVENTS, "stripe", "stored").inc()
        metrics.child(metrics.REQUESTS, "/webhooks/<endpoint_name>", "200").inc()

    return cpu_per_call("metrics (histogram + 2 counters)", lambda: None, touch, n)


def main_loop_path(url: str, deliveries: Deliveries, n: int) -> dict[str, float]:
    """A valid delivery as the worker's main loop serves it, stage by stage (the client's send
    and the signing are not counted)."""
    app = create_app(Settings.from_env({"DATABASE_URL": url, "STRIPE_WEBHOOK_SECRET": SECRET}))
    direct = DirectIngest(receiver_of(app))
    cfg = raw_http.FixedConfig(Config())  # gunicorn's defaults, as the worker's main loop reads a head
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    spent = {"reading": 0.0, "take": 0.0, "hand-off": 0.0, "answer": 0.0}
    receiver_of(app).inbox.start()
    try:
        for _ in range(n):
            peer.sendall(deliveries.raw())
            clock = time.process_time()
            data = raw_http.peek(ours)
            head = raw_http.parse(data, cfg, ("127.0.0.1", 40000))
            assert head is not None
            end = head.length + head.content_length
            assert raw_http.consume(ours, end)
            clock = _lap(spent, "reading", clock)
            delivery = direct.take(head.path, head.url, head.headers, data[head.length : end])
            assert isinstance(delivery, Delivery)
            clock = _lap(spent, "take", clock)
            signal = threading.Lock()
            signal.acquire()
            direct.submit(delivery, signal.release)
            signal.acquire()
            clock = _lap(spent, "hand-off", clock)
            payload = direct.answer(delivery)
            assert payload is not None
            assert raw_http.send(ours, raw_http.response(head, 200, payload, close=False))
            _lap(spent, "answer", clock)
            peer.recv(65536)
    finally:
        receiver_of(app).inbox.close()
        ours.close()
        peer.close()
    results = {stage: seconds / n * 1e6 for stage, seconds in spent.items()}
    for stage, micros in results.items():
        print(f"  {'main loop: ' + stage:<48} {micros:7.0f} µs", file=sys.stderr)
    return results


def _lap(spent: dict[str, float], stage: str, since: float) -> float:
    now = time.process_time()
    spent[stage] += now - since
    return now


def flask_path(url: str, deliveries: Deliveries, n: int) -> dict[str, float]:
    """The shipped Flask app's WSGI call for a valid delivery, and its stages one by one."""
    env = {"DATABASE_URL": url, "STRIPE_WEBHOOK_SECRET": SECRET}
    app = create_app(Settings.from_env(env))
    receiver = receiver_of(app)
    verifier = StripeVerifier((SECRET,))

    def environ_of(delivery: object) -> dict[str, object]:
        body, headers = delivery  # type: ignore[misc]
        environ: dict[str, object] = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/webhooks/stripe",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": headers["Content-Type"],
            "HTTP_STRIPE_SIGNATURE": headers["Stripe-Signature"],
        }
        return environ

    def call(environ: object) -> None:
        statuses: list[str] = []
        body = b"".join(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
        assert statuses == ["200 OK"] and b'"duplicate":false' in body, (statuses, body)

    def event_of(delivery: object) -> IncomingEvent:
        verified = verifier.verify(*delivery)  # type: ignore[misc]
        return IncomingEvent("stripe", verified.event_id, verified.event_type, verified.payload)

    receiver.inbox.start()
    results = {
        "app": cpu_per_call(
            "Flask: the app's WSGI call (all below included)", lambda: environ_of(deliveries.next()), call, n
        ),
        "verify": cpu_per_call("verification (Stripe, raw bytes)", deliveries.next, lambda d: verifier.verify(*d), n),
        "store": cpu_per_call("Inbox.store (hand-off + psycopg)", lambda: event_of(deliveries.next()), _store(app), n),
    }
    receiver.inbox.close()
    with db.connect(url) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        before = tree_cpu_seconds([backend])
        results["psycopg"] = cpu_per_call(
            "psycopg (insert_events, one event)",
            lambda: event_of(deliveries.next()),
            lambda event: insert_events(conn, [event]),
            n,
        )
        results["postgres"] = (tree_cpu_seconds([backend]) - before) / n * 1e6
    print(f"  {'Postgres backend per insert (/proc)':<48} {results['postgres']:7.0f} µs", file=sys.stderr)
    return results


def _store(app: object) -> Callable[[object], object]:
    inbox = receiver_of(app).inbox  # type: ignore[arg-type]
    return lambda event: inbox.store(event)  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="calls per stage (default 2000)")
    args = parser.parse_args()
    logs.configure("warning")  # as the server configures logging (gunicorn's access log included)
    deliveries = Deliveries()
    with tempfile.TemporaryDirectory(prefix="breakdown-") as workdir, LocalPostgres(Path(workdir) / "data") as pg:
        migrate(pg.url())
        print(f"CPU per request, {args.requests} calls per stage, load {os.getloadavg()[0]:.1f}:", file=sys.stderr)
        loop = main_loop_path(pg.url(), deliveries, args.requests)
        log = access_log(args.requests)
        http = gunicorn_http(deliveries, args.requests)
        metric = metric_updates(args.requests)
        flask = flask_path(pg.url(), deliveries, args.requests)
    rows = [
        ("reading: peek, parse (gunicorn_h1c), consume", loop["reading"]),
        ("verification and the event (DirectIngest.take)", loop["take"]),
        ("hand-off to the inbox writer and back", loop["hand-off"] - flask["psycopg"]),
        ("the answer: metrics, response, send", loop["answer"]),
        ("logging (access line)", log),
        ("psycopg (one event; a group commit shares it)", flask["psycopg"]),
        ("Postgres (backend, one commit per event)", flask["postgres"]),
    ]
    print("| main loop's stage | CPU µs per request |\n|---|---|")
    for label, micros in rows:
        print(f"| {label} | {micros:.0f} |")
    print(f"| sum | {sum(micros for _, micros in rows):.0f} |")
    flask_own = flask["app"] - flask["verify"] - flask["store"] - metric
    print("\nthe same delivery through a request thread and Flask (every other request's path), for comparison:")
    print("| stage | CPU µs per request |\n|---|---|")
    for label, micros in [
        ("HTTP parsing and response writing (gunicorn)", http),
        ("Flask/werkzeug (the view's call minus verification, store and metrics)", flask_own),
        ("verification", flask["verify"]),
        ("metrics", metric),
        ("Inbox.store: hand-off and psycopg", flask["store"]),
    ]:
        print(f"| {label} | {micros:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
