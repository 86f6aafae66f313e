"""The worker's own Prometheus endpoint (``WEBHOOK_WORKER_METRICS_BIND``): is it alive, what did it do.

The worker has no web server, so prometheus_client's small HTTP server answers on a thread of
its own. The numbers are kept here by the dispatcher and read at scrape time; they never use
prometheus_client's Counter classes, whose storage switches to the server's multiprocess files
when ``PROMETHEUS_MULTIPROC_DIR`` happens to be in the worker's environment too.

- ``webhook_worker_heartbeat_timestamp_seconds``: when the dispatcher last went round its loop
  (it does at least every ``WEBHOOK_WORKER_POLL`` seconds, or every database backoff of at most
  10 s); a value that stops moving, or none at all, means no worker is processing.
- ``webhook_worker_events_total{scheme,outcome}``: handler outcomes, ``done``, ``failed``
  (retried later), ``dead`` and ``skipped``, counted when known (an outcome whose write came too
  late, after another worker took the event over, is counted here all the same).
- ``webhook_worker_skipped_total{scheme,type}``: events of a type no handler takes.
- ``webhook_worker_oldest_due_seconds``: how long the longest-waiting due event has waited.

The per-scheme series also carry the scheme as ``provider``, the label's name before 0.1.0, kept
for one release so that queries and alert rules written for it keep working (deprecated, removed
in 0.2.0; it adds no series).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

OUTCOMES = ("done", "failed", "dead", "skipped")


class WorkerMetrics:
    """Counts kept by the dispatcher thread; the HTTP thread reads a copy under the lock."""

    def __init__(self, schemes: Iterable[str]) -> None:
        self._lock = threading.Lock()
        self._heartbeat = time.time()
        # Every scheme with a handler starts at 0, so an alert on increase() sees the first one.
        self._outcomes: Counter[tuple[str, str]] = Counter({(p, o): 0 for p in schemes for o in OUTCOMES})
        self._skipped: Counter[tuple[str, str]] = Counter()
        self._oldest_due: float | None = None

    def beat(self) -> None:
        with self._lock:
            self._heartbeat = time.time()

    def outcome(self, scheme: str, outcome: str) -> None:
        with self._lock:
            self._outcomes[(scheme, outcome)] += 1

    def skipped(self, scheme: str, event_type: str) -> bool:
        """Count a skipped event; True for the first of its scheme and type in this process."""
        with self._lock:
            self._outcomes[(scheme, "skipped")] += 1
            self._skipped[(scheme, event_type)] += 1
            return self._skipped[(scheme, event_type)] == 1

    def oldest_due(self, seconds: float) -> None:
        with self._lock:
            self._oldest_due = seconds

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            heartbeat, oldest_due = self._heartbeat, self._oldest_due
            outcomes, skipped = dict(self._outcomes), dict(self._skipped)
        yield GaugeMetricFamily(
            "webhook_worker_heartbeat_timestamp_seconds",
            "Unix time the worker's dispatcher last went round its loop",
            heartbeat,
        )
        events = CounterMetricFamily(
            "webhook_worker_events",
            "Handler outcomes: done, failed (retried), dead, skipped",
            labels=["scheme", "provider", "outcome"],
        )
        for (scheme, outcome), count in sorted(outcomes.items()):
            events.add_metric([scheme, scheme, outcome], count)
        yield events
        skips = CounterMetricFamily(
            "webhook_worker_skipped",
            "Events no handler takes, by scheme and type",
            labels=["scheme", "provider", "type"],
        )
        for (scheme, event_type), count in sorted(skipped.items()):
            skips.add_metric([scheme, scheme, event_type], count)
        yield skips
        if oldest_due is not None:
            yield GaugeMetricFamily(
                "webhook_worker_oldest_due_seconds",
                "How long the longest-waiting due event (pending, or failed and due for its retry) has waited",
                oldest_due,
            )
