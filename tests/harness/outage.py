"""A database outage under load, as issue 15 measured it: for the test and ``bench/outage.py``.

Three instances (2 gunicorn workers x 8 threads, the defaults) behind the shipped HAProxy,
signed Stripe deliveries at a steady rate through HAProxy (a new connection each, and enough
senders that slow answers do not slow the load), every instance's ``/health`` checked directly
as HAProxy checks it, and the run's own Postgres stopped for a few seconds, then started again.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.harness.fleet import Fleet
from tests.harness.health_watch import HealthWatch
from tests.harness.load import Answer, SignedLoad
from tests.harness.postgres import NOT_DURABLE
from tests.harness.proxies import running_haproxy
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.migrations import migrate

NAMES = ["app1", "app2", "app3"]  # the server names in deploy/haproxy/haproxy.cfg
# Load before the stop and after the return, so both edges of the outage are seen under load.
STEADY_SECONDS = 2.0
HEALTH_EVERY_SECONDS = 0.05
# In flight at once: 100/s answered after up to 4 s (as measured in the issue) needs 400.
SENDERS = 400
# How often the run tries a fresh connection to tell the moment Postgres accepts again.
BACK_POLL_SECONDS = 0.01
BACK_TIMEOUT_SECONDS = 60.0
# HAProxy's log lines that mean it took a server out, or answered a delivery itself (its own
# 404 for paths outside /webhooks/ is no trouble: the start-up probe asks for / on purpose).
HAPROXY_TROUBLE = re.compile(r"is DOWN|no server available|<NOSRV> .*\"POST /webhooks/")


@dataclass
class OutageRun:
    """What happened: every delivery's answer, every health check, and HAProxy's view."""

    stopped_at: float  # monotonic: the stop of Postgres began
    back_at: float  # monotonic: the first moment a new connection to Postgres succeeded again
    answers: list[Answer]
    watch: HealthWatch
    servers: dict[str, dict[str, str]]  # HAProxy's `show stat` per server, at the end
    haproxy_trouble: list[str]  # log lines: a server DOWN, a request answered with no server

    @property
    def outage_seconds(self) -> float:
        return self.back_at - self.stopped_at

    def answered_during_outage(self) -> list[Answer]:
        return [a for a in self.answers if a.status is not None and self.stopped_at <= a.answered_at <= self.back_at]

    def health_latencies_during_outage(self) -> list[float]:
        return self.watch.latencies(self.stopped_at, self.back_at)

    def first_stored_after_back(self) -> float | None:
        """Seconds from Postgres back to the first 200 answered after it; None if there was none."""
        stored = [a.answered_at for a in self.answers if a.status == 200 and a.answered_at >= self.back_at]
        return min(stored) - self.back_at if stored else None

    def not_from_the_app(self) -> list[Answer]:
        """Answers without our JSON body: a proxy answered instead of the app, or nobody did."""
        return [a for a in self.answers if a.status != 200 and a.error is None]

    def slowest(self) -> float:
        return max((a.seconds for a in self.answers), default=0.0)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted ``values`` (0.0 for none)."""
    if not values:
        return 0.0
    return values[min(len(values) - 1, max(0, math.ceil(fraction * len(values)) - 1))]


def run(
    directory: Path, *, rate: float, outage_seconds: float, durable: bool, env: dict[str, str] | None = None
) -> OutageRun:
    """Run the outage once, every process started under ``directory`` and stopped before returning."""
    with LocalPostgres(directory / "postgres", settings=() if durable else NOT_DURABLE) as postgres:
        migrate(postgres.url())
        (directory / "fleet").mkdir()
        fleet = Fleet(directory / "fleet", postgres.url(), NAMES, env={"WEBHOOK_THREADS": "8", **(env or {})})
        try:
            fleet.wait_until_healthy()
            with running_haproxy(directory, fleet.ports) as proxy:
                proxy.wait_until_checked_up(NAMES)
                health_urls = {name: fleet.health_url(name) for name in NAMES}
                with (
                    HealthWatch(health_urls, HEALTH_EVERY_SECONDS) as watch,
                    SignedLoad(proxy.url("/webhooks/stripe"), rate, senders=SENDERS) as load,
                ):
                    time.sleep(STEADY_SECONDS)
                    stopped_at = time.monotonic()
                    postgres.stop()
                    time.sleep(outage_seconds)
                    back_at = _start_and_time(postgres)
                    time.sleep(STEADY_SECONDS)
                servers = proxy.servers()
                trouble = [line for line in proxy.log_lines("") if HAPROXY_TROUBLE.search(line)]
        finally:
            fleet.kill()
    return OutageRun(stopped_at, back_at, load.ledger.answers, watch, servers, trouble)


def _start_and_time(postgres: LocalPostgres) -> float:
    """Start Postgres and return the first moment a new connection succeeds.

    ``pg_ctl start -w`` returns up to 0.1 s after the server accepts; this polls on its own,
    so the time from "back" to the first stored event is not flattered by that delay.
    """
    starter = threading.Thread(target=postgres.start, name="postgres-start")
    starter.start()
    deadline = time.monotonic() + BACK_TIMEOUT_SECONDS
    try:
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(postgres.url(), connect_timeout=2):
                    return time.monotonic()
            except psycopg.OperationalError:
                time.sleep(BACK_POLL_SECONDS)
        raise AssertionError(f"Postgres not accepting {BACK_TIMEOUT_SECONDS} s after its start")
    finally:
        starter.join(BACK_TIMEOUT_SECONDS)
