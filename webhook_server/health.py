"""``/health`` for load balancers: 503 from the moment of SIGTERM, and nothing else.

It deliberately touches no dependency: a health check that fails when the database is slow
fails on every instance at once, and the balancer then answers 502 for all of them.
"""

from __future__ import annotations

from flask import Blueprint

from webhook_server.serving.drain import DRAINING

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> tuple[dict[str, str], int]:
    if DRAINING.is_set():
        return {"status": "draining"}, 503
    return {"status": "ok"}, 200
