"""``/health`` for load balancers: 503 from the moment of SIGTERM, and nothing else.

It deliberately touches no dependency: a health check that fails when the database is slow
fails on every instance at once, and the balancer then answers 502 for all of them. Under
gunicorn a balancer's check does not reach this route: the worker's main loop answers it without
a request thread (below); the route serves the test client, the dev server and whatever the
main loop hands on (a head split over packets, TLS).

``/ready`` is for deploy scripts only (scripts/rolling-deploy asks it before putting a
restarted instance back), never for a balancer: it answers 200 once this process reaches
Postgres as its inbox does, finds the schema it needs, and commits with
``synchronous_commit=on``; else 503 with the problems, each with its fix (an unreachable
database is the generic 503 of errors_http: its cause goes to the log). Like ``/metrics`` it
is for the operator's network: the shipped proxies route only ``/webhooks/``.

## Answered by the worker's main loop

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
the same status and JSON as the Flask route (``health_answer``), the same ``Connection``
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

from typing import Any

from flask import Blueprint, current_app

from webhook_server import db, migrations
from webhook_server.web.drain import DRAINING
from webhook_server.web.raw_http import RequestHead
from webhook_server.web.receiver import receiver_of

ROUTE = "/health"

bp = Blueprint("health", __name__)


def health_answer() -> tuple[dict[str, str], int]:
    """What ``/health`` answers, in the route and in the main loop: 503 from SIGTERM on, 200 otherwise."""
    if DRAINING.is_set():
        return {"status": "draining"}, 503
    return {"status": "ok"}, 200


def is_health_check(head: RequestHead) -> bool:
    """A bodiless ``GET``/``HEAD /health``: the main loop's to answer."""
    return head.path == ROUTE and head.method in ("GET", "HEAD") and not head.content_length


@bp.get(ROUTE)
def health() -> tuple[dict[str, str], int]:
    return health_answer()


@bp.get("/ready")
def ready() -> tuple[dict[str, Any], int]:
    missing, durability = receiver_of(current_app).inbox.readiness()  # 503 via DatabaseUnavailable
    problems = [migrations.missing_message(missing)] if missing else []
    if durability.get("synchronous_commit") not in db.DURABLE_COMMIT_LEVELS:
        problems.append(
            f"synchronous_commit is {durability.get('synchronous_commit')!r} in this process's sessions although "
            "they ask for on: does a pooler between it and Postgres drop startup options? connect directly"
        )
    status = {"status": "not_ready" if problems else "ready", "problems": problems, **durability}
    return status, 503 if problems else 200
