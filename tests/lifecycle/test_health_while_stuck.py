"""``/health`` never waits for a request thread, whatever the request threads are doing."""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg

from webhook_server.harness.gunicorn import GunicornServer
from webhook_server.harness.health_watch import HealthWatch
from webhook_server.harness.load import SignedLoad
from webhook_server.harness.outage import percentile

STUCK = 64  # deliveries in flight at once, against 2 workers x 4 threads
DB_TIMEOUT = 1.5
HEALTH_EVERY_SECONDS = 0.02
WATCH_SECONDS = 4.0
P99_LIMIT_SECONDS = 0.050


def test_health_answers_in_milliseconds_while_every_thread_waits_on_a_locked_table(
    start_server: Callable[..., GunicornServer], clean_db: str
) -> None:
    # A circuit that never opens: every delivery waits its whole WEBHOOK_DB_TIMEOUT on the lock.
    server = start_server(WEBHOOK_DB_TIMEOUT=str(DB_TIMEOUT), WEBHOOK_DB_CIRCUIT_FAILURES="1000000")
    with psycopg.connect(clean_db) as locker:
        locker.execute("LOCK TABLE webhook_events IN ACCESS EXCLUSIVE MODE")  # held until the rollback
        with SignedLoad(server.url("/webhooks/stripe"), rate=10 * STUCK, senders=STUCK) as load:
            time.sleep(2 * STUCK / (10 * STUCK))  # long enough for every sender to have one in flight
            started = time.monotonic()
            with HealthWatch({"app": server.url("/health")}, HEALTH_EVERY_SECONDS) as watch:
                time.sleep(WATCH_SECONDS)
            ended = time.monotonic()
        locker.rollback()

    during = [a for a in load.ledger.answers if started <= a.answered_at <= ended]
    assert during, "no delivery was answered while /health was watched"
    assert {(a.status, a.error) for a in load.ledger.answers} == {(503, "database_unavailable")}
    assert min(a.seconds for a in during) >= DB_TIMEOUT * 0.9, "the deliveries were not stuck on the lock"
    checks = [c for c in watch.checks if started <= c.sent_at <= ended]
    assert len(checks) >= WATCH_SECONDS / HEALTH_EVERY_SECONDS / 2
    assert {c.status for c in checks} == {200}
    latencies = watch.latencies(started, ended)
    assert percentile(latencies, 0.99) < P99_LIMIT_SECONDS, (
        f"/health p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms"
    )
