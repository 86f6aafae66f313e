"""``/health`` answered by the worker's main loop, never by a request thread.

Why: gthread hands every request to a pool of ``WEBHOOK_THREADS`` threads. While Postgres is
down each delivery holds its thread for up to ``WEBHOOK_DB_TIMEOUT``; at 100 deliveries/s the
threads run out, and a health check waits in the pool's queue behind them. Measured (issue 15,
3 instances x 2 workers x 8 threads behind the shipped HAProxy, Postgres stopped for 5 s):
``/health`` p99 2.3-3.1 s, HAProxy's 1 s check timeout took every instance DOWN and HAProxy
answered 130-146 deliveries itself with a bare 503. A health check that says "alive" must not
depend on what the request threads are doing.

How: the worker's poller already waits for a connection's first bytes (read_deadlines.py). When
they arrive, the main loop peeks at them (``MSG_PEEK``, nothing consumed; raw_http.py). A
complete ``GET``/``HEAD /health`` request head with no body is read and answered right there:
the same status and JSON as the Flask route (``drain.health_answer``), the same ``Connection``
rules (HTTP/1.0 or 1.1, ``close`` while draining), one access-log line and one count in
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

from webhook_server.serving.raw_http import RequestHead

ROUTE = "/health"


def is_health_check(head: RequestHead) -> bool:
    """A bodiless ``GET``/``HEAD /health``: the main loop's to answer."""
    return head.path == ROUTE and head.method in ("GET", "HEAD") and not head.content_length
