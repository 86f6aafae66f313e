"""``/health`` for load balancers: 503 from the moment of SIGTERM, and nothing else.

It deliberately touches no dependency: a health check that fails when the database is slow
fails on every instance at once, and the balancer then answers 502 for all of them. Under
gunicorn a balancer's check does not reach this route: the worker's main loop answers it without
a request thread (serving/health_check.py); the route serves the test client, the dev server and
whatever the main loop hands on (a head split over packets, TLS).

``/ready`` is for deploy scripts only (scripts/rolling-deploy asks it before putting a
restarted instance back), never for a balancer: it answers 200 once this process reaches
Postgres as its inbox does, finds the schema it needs, and commits with
``synchronous_commit=on``; else 503 with the problems, each with its fix (an unreachable
database is the generic 503 of errors_http: its cause goes to the log). Like ``/metrics`` it
is for the operator's network: the shipped proxies route only ``/webhooks/``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from webhook_server import migrations
from webhook_server.receiver import receiver_of
from webhook_server.serving.drain import health_answer

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> tuple[dict[str, str], int]:
    return health_answer()


@bp.get("/ready")
def ready() -> tuple[dict[str, Any], int]:
    missing, durability = receiver_of(current_app).inbox.readiness()  # 503 via DatabaseUnavailable
    problems = [migrations.missing_message(missing)] if missing else []
    if durability.get("synchronous_commit") != "on":
        problems.append(
            f"synchronous_commit is {durability.get('synchronous_commit')!r} in this process's sessions although "
            "they ask for on: does a pooler between it and Postgres drop startup options? connect directly"
        )
    status = {"status": "not_ready" if problems else "ready", "problems": problems, **durability}
    return status, 503 if problems else 200
