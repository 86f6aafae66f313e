"""`podman stop` of a serving container under load: drained by the balancer, nothing failed or lost."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.harness.containers import Container, container_url
from tests.harness.gunicorn import STRIPE_SECRET
from tests.harness.health_watch import HealthWatch
from tests.harness.load import SignedLoad, assert_each_acknowledged_event_stored_once
from tests.harness.proxies import running_haproxy

RATE = 100  # deliveries per second, the figure
ANNOUNCE = 3.0  # the image's WEBHOOK_DRAIN_ANNOUNCE (the default)
CAP = 8.0  # the image's WEBHOOK_SHUTDOWN_CAP
KILL_AFTER = 10  # podman's and docker's default --time: SIGKILL this long after SIGTERM
# The stop ends by itself before the SIGKILL (exit code 0, not 137) and with a margin: the
# announce and gunicorn's stop take 3.6-4 s on an idle machine, up to 8.7 s measured on two
# cores with four times as many runnable processes (bench/container_stop.py).
STOP_LIMIT = KILL_AFTER - 1.0


def serve(start: Callable[..., Container], database_url: str) -> Container:
    return start(env={"DATABASE_URL": container_url(database_url), "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET})


def test_podman_stop_behind_haproxy_fails_no_delivery(
    start_container: Callable[..., Container], clean_db: str, tmp_path: Path
) -> None:
    old, other = serve(start_container, clean_db), serve(start_container, clean_db)
    old.wait_until_healthy()
    other.wait_until_healthy()
    with running_haproxy(tmp_path, [old.port, other.port]) as haproxy:
        haproxy.wait_until_checked_up(["app1", "app2"])
        with (
            HealthWatch({"old": old.url("/health")}, every=0.1) as watch,
            SignedLoad(haproxy.url("/webhooks/stripe"), RATE, senders=16) as load,
        ):
            time.sleep(1.0)
            stopping = time.monotonic()
            stopped_in = old.stop(KILL_AFTER)
            time.sleep(2.0)
    ledger = load.ledger
    assert ledger.failures == [], ledger.failures[:5]
    assert old.exit_code() == 0, f"exit code {old.exit_code()} (137: killed):\n{old.logs()}"
    assert stopped_in < STOP_LIMIT, f"podman stop took {stopped_in:.1f} s"
    # The balancer's view: /health answered 503 before the container stopped answering at all.
    after = [check.status for check in watch.checks if check.sent_at >= stopping and check.status != 200]
    assert after[:1] == [503], after[:5]
    served_during_stop = [a for a in ledger.answers if stopping <= a.sent_at < stopping + stopped_in]
    assert len(served_during_stop) >= RATE * 2, "too little load crossed the stop to prove anything"
    assert_each_acknowledged_event_stored_once(ledger, clean_db)


def test_deliveries_arriving_during_the_announce_are_served(
    start_container: Callable[..., Container], clean_db: str
) -> None:
    """Kubernetes' termination race: the endpoint's removal and SIGTERM happen at once, so an
    ingress keeps sending for a while after SIGTERM. Here it keeps sending straight to the
    container for ANNOUNCE - 1 s after `podman stop` began: every one is answered 200."""
    container = serve(start_container, clean_db)
    container.wait_until_healthy()
    stop = threading.Thread(target=container.stop, args=(KILL_AFTER,), name="podman-stop")
    with SignedLoad(container.url("/webhooks/stripe"), RATE, senders=16) as load:
        time.sleep(1.0)
        stop.start()
        time.sleep(ANNOUNCE - 1.0)
    stop.join(KILL_AFTER + 30)
    assert load.ledger.failures == [], load.ledger.failures[:5]
    assert len(load.ledger.acknowledged) >= RATE * 2
    assert container.exit_code() == 0
    assert_each_acknowledged_event_stored_once(load.ledger, clean_db)


def test_a_request_that_never_ends_does_not_hold_the_stop_past_the_cap(
    start_container: Callable[..., Container], clean_db: str
) -> None:
    """The worst case for the SIGKILL: a client that never finishes its body. gunicorn's stop
    gives up on it at cap - 1 s, so the container exits by itself (exit code 0) about then."""
    container = serve(start_container, clean_db)
    container.wait_until_healthy()
    with socket.create_connection(("127.0.0.1", container.port), timeout=5) as client:
        client.sendall(b"POST /webhooks/stripe HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n{")
        called = time.time()
        container.stop(KILL_AFTER)
        exited = container.finished_at() - called
    assert container.exit_code() == 0, f"exit code {container.exit_code()} (137: killed):\n{container.logs()}"
    assert CAP - 1.5 < exited < KILL_AFTER - 1.0, f"PID 1 exited {exited:.2f} s after podman stop"
