"""The web process's Prometheus metrics, correct across gunicorn workers (served by scrape.py).

Under gunicorn, prometheus_client runs in multiprocess mode: every worker writes its values to
files in ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` (answered by any worker) adds them up.
The mode is chosen when prometheus_client is first imported, so gunicorn.conf.py sets the
directory first (``metrics_dir``); without it (tests, the Flask dev server) the process's own
registry is served.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import mark_process_dead

from webhook_server.circuit import CircuitState
from webhook_server.web.metrics_dir import MULTIPROC_ENV

# Per-endpoint series carry the endpoint's name twice: as ``endpoint``, and as ``provider``, the
# label's name before 0.1.0, kept for one release so that queries and alert rules written for it
# keep working (CHANGELOG: deprecated, removed in 0.2.0). It adds no series.
ENDPOINT_LABELS = ["endpoint", "provider"]

REQUESTS = Counter("webhook_http_requests_total", "HTTP requests answered, by route and status", ["route", "status"])
INGEST_SECONDS = Histogram(
    "webhook_ingest_duration_seconds",
    "Time from reading a webhook's body to its answer (verify and commit included)",
    ENDPOINT_LABELS,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
EVENTS = Counter("webhook_events_total", "Verified events, by whether they were new", [*ENDPOINT_LABELS, "outcome"])
REJECTIONS = Counter(
    "webhook_rejections_total", "Deliveries refused with a 4xx, by reason", [*ENDPOINT_LABELS, "reason"]
)
SPOOL_DRAINED = Counter(
    "webhook_spool_drained_total", "Spooled events this server's drainers committed to Postgres and removed"
)
DATABASE_ERRORS = Counter(
    "webhook_database_errors_total", "Deliveries answered 503: no commit in time, or the database circuit open"
)
# Summed over live workers: each has its own circuit, and a dead worker's stops counting.
DATABASE_CIRCUIT_OPEN = Gauge(
    "webhook_database_circuit_open",
    "Workers whose database circuit is open: their deliveries are refused at once, a probe checks the database",
    multiprocess_mode="livesum",
)
DATABASE_CIRCUIT_TRANSITIONS = Counter(
    "webhook_database_circuit_transitions_total", "Database circuit transitions, by the state entered", ["state"]
)
SLOW_CLIENTS = Counter(
    "webhook_slow_clients_total", "Connections closed: the request did not arrive within WEBHOOK_READ_TIMEOUT"
)


@functools.cache
def child(metric: MetricWrapperBase, *values: str) -> Any:
    """``metric.labels(*values)``, looked up once per process and label set: ``labels()`` takes a
    lock and checks its values on every call, a cost each delivery paid three times. The label
    sets are bounded (routes, statuses, endpoints, outcomes), and so is this cache."""
    return metric.labels(*values)


def of_endpoint(metric: MetricWrapperBase, endpoint: str, *values: str) -> Any:
    """The child of one endpoint's series (``child``), its name in both ENDPOINT_LABELS."""
    return child(metric, endpoint, endpoint, *values)


def database_circuit_changed(state: CircuitState) -> None:
    """The inbox's ``on_circuit_change``: called once per transition, from its writer thread."""
    DATABASE_CIRCUIT_OPEN.set(1 if state is CircuitState.OPEN else 0)
    DATABASE_CIRCUIT_TRANSITIONS.labels(state=state.value).inc()


def worker_exited(pid: int) -> None:
    """From gunicorn's ``child_exit``: drop the dead worker's live gauges."""
    if os.environ.get(MULTIPROC_ENV):
        mark_process_dead(pid)
