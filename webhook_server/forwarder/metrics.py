"""The forwarder's own Prometheus endpoint (``WEBHOOK_FORWARD_METRICS_BIND``), per destination.

Like the worker's, the numbers are kept here by the dispatcher and read at scrape time through a
custom collector (never prometheus_client's Counter classes, which switch to the server's
multiprocess files when ``PROMETHEUS_MULTIPROC_DIR`` is in the environment).

- ``webhook_forward_heartbeat_timestamp_seconds``: when the dispatcher last went round its loop.
- ``webhook_forward_attempts_total{destination,outcome}``: delivered, failed (retried), dead.
- ``webhook_forward_latency_seconds{destination}``: each attempt's time, a histogram.
- ``webhook_forward_destination_paused{destination}``: 1 while paused (from the database, so every
  forwarder reports a pause any of them made or `resume` lifted).
- ``webhook_forward_oldest_due_seconds{destination}``: how long its longest-waiting due delivery
  has waited (a paused destination's backlog grows here).
- ``webhook_forward_dead{destination}``: dead deliveries stored, waiting for a replay.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

OUTCOMES = ("delivered", "failed", "dead", "dropped")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class DestinationState:
    """A row of destination_states.sql."""

    paused: bool
    oldest_due: float
    dead: int


class ForwarderMetrics:
    """Counts kept by the dispatcher thread; the HTTP thread reads a copy under the lock."""

    def __init__(self, destinations: Iterable[str]) -> None:
        names = list(destinations)
        self._lock = threading.Lock()
        self._heartbeat = time.time()
        # Every destination starts at 0, so an alert on increase() sees the first one.
        self._outcomes: Counter[tuple[str, str]] = Counter({(d, o): 0 for d in names for o in OUTCOMES})
        self._buckets = {name: [0] * len(BUCKETS) for name in names}
        self._latency_sum = dict.fromkeys(names, 0.0)
        self._latency_count = dict.fromkeys(names, 0)
        self._states: dict[str, DestinationState] = {}

    def beat(self) -> None:
        with self._lock:
            self._heartbeat = time.time()

    def attempt(self, destination: str, outcome: str, latency: float) -> None:
        with self._lock:
            self._outcomes[(destination, outcome)] += 1
            buckets = self._buckets.setdefault(destination, [0] * len(BUCKETS))
            index = bisect.bisect_left(BUCKETS, latency)
            if index < len(BUCKETS):
                buckets[index] += 1
            self._latency_sum[destination] = self._latency_sum.get(destination, 0.0) + latency
            self._latency_count[destination] = self._latency_count.get(destination, 0) + 1

    def states(self, states: dict[str, DestinationState]) -> None:
        with self._lock:
            self._states = dict(states)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            heartbeat, outcomes, states = self._heartbeat, dict(self._outcomes), dict(self._states)
            buckets = {name: list(counts) for name, counts in self._buckets.items()}
            sums, counts = dict(self._latency_sum), dict(self._latency_count)
        yield GaugeMetricFamily(
            "webhook_forward_heartbeat_timestamp_seconds", "Unix time the forwarder last went round its loop", heartbeat
        )
        attempts = CounterMetricFamily(
            "webhook_forward_attempts",
            "Attempts to destinations: delivered, failed (retried), dead, dropped (by its transform)",
            labels=["destination", "outcome"],
        )
        for (destination, outcome), count in sorted(outcomes.items()):
            attempts.add_metric([destination, outcome], count)
        yield attempts
        latency = HistogramMetricFamily(
            "webhook_forward_latency_seconds",
            "Time of each attempt, first byte sent to response read",
            labels=["destination"],
        )
        for destination, counted in sorted(buckets.items()):
            cumulative, running = [], 0
            for bound, count in zip(BUCKETS, counted, strict=True):
                running += count
                cumulative.append((repr(bound), running))
            cumulative.append(("+Inf", counts[destination]))
            latency.add_metric([destination], cumulative, sums[destination])
        yield latency
        paused = GaugeMetricFamily(
            "webhook_forward_destination_paused", "1 while the destination is paused", labels=["destination"]
        )
        oldest = GaugeMetricFamily(
            "webhook_forward_oldest_due_seconds",
            "How long the destination's oldest due delivery has waited",
            labels=["destination"],
        )
        dead = GaugeMetricFamily(
            "webhook_forward_dead", "Dead deliveries stored, waiting for a replay", labels=["destination"]
        )
        for destination, state in sorted(states.items()):
            paused.add_metric([destination], 1.0 if state.paused else 0.0)
            oldest.add_metric([destination], state.oldest_due)
            dead.add_metric([destination], state.dead)
        yield paused
        yield oldest
        yield dead
