"""``/health`` for load balancers: 503 from the moment of SIGTERM, and nothing else.

It deliberately touches no dependency: a health check that fails when the database is slow
fails on every instance at once, and the balancer then answers 502 for all of them. Under
gunicorn a balancer's check does not reach this route: the worker's main loop answers it without
a request thread (serving/health_check.py); the route serves the test client, the dev server and
whatever the main loop hands on (a head split over packets, TLS).
"""

from __future__ import annotations

from flask import Blueprint

from webhook_server.serving.drain import health_answer

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> tuple[dict[str, str], int]:
    return health_answer()
