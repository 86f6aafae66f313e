"""``/metrics``: the web process's metrics summed over gunicorn's workers, with the drain flag and
the spool's backlog read at scrape time, and every answer counted by its route.

Under gunicorn, prometheus_client runs in multiprocess mode: every worker writes its values to
files in ``PROMETHEUS_MULTIPROC_DIR`` and this route (answered by any worker) adds them up.
Without it (tests, the Flask dev server) the process's own registry is served.
"""

from __future__ import annotations

import logging
import os
import sqlite3

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from webhook_server.spool.store import Spool
from webhook_server.web.drain import DRAINING
from webhook_server.web.metrics import REQUESTS, child
from webhook_server.web.metrics_dir import MULTIPROC_ENV
from webhook_server.web.receiver import receiver_of

logger = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.after_request(_count_request)


def _count_request(response: Response) -> Response:
    # The rule, not the path: a label per URL anyone can send would grow without bound.
    route = request.url_rule.rule if request.url_rule else "unmatched"
    child(REQUESTS, route, str(response.status_code)).inc()
    return response


@bp.get("/metrics")
def scrape() -> Response:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry) + generate_latest(_DrainingRegistry())
    spool = receiver_of(current_app).spool
    if spool is not None:
        body += generate_latest(_SpoolRegistry(spool))
    return Response(body, content_type=CONTENT_TYPE_LATEST)


class _DrainingRegistry:
    """The draining flag, read at scrape time from the page the master shares with workers."""

    def collect(self):
        yield GaugeMetricFamily("webhook_draining", "1 from SIGTERM until exit: /health answers 503", DRAINING.is_set())


class _SpoolRegistry:
    """The spool's backlog, read at scrape time from its SQLite file (the same for every worker)."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool

    def collect(self):
        try:
            summary = self.spool.summary()
        except (sqlite3.Error, OSError) as exc:  # OSError: the file could not be opened (Spool._open)
            logger.error("spool at %s unreadable for /metrics: %s", self.spool.path, exc)
            return
        yield GaugeMetricFamily(
            "webhook_spool_events", "Verified events on this host's spool, not yet in Postgres", summary.events
        )
        yield GaugeMetricFamily(
            "webhook_spool_oldest_age_seconds",
            "Seconds since the oldest spooled event arrived (0 when the spool is empty)",
            summary.oldest_age or 0.0,
        )
