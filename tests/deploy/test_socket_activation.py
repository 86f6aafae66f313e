"""A restart under socket activation loses nothing; the same restart without it refuses connections."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.harness.gunicorn import GunicornServer
from tests.harness.launcher import SocketLauncher
from tests.harness.load import SignedLoad, assert_each_acknowledged_event_stored_once
from webhook_server.dev.localdb import free_port

RATE = 50  # deliveries per second, new connection each


def test_a_restart_under_socket_activation_fails_no_delivery(clean_db: str, tmp_path: Path) -> None:
    launcher = SocketLauncher.for_app(clean_db, tmp_path / "gunicorn.log")
    try:
        launcher.start()
        launcher.wait_until_healthy()
        with SignedLoad(launcher.url("/webhooks/stripe"), RATE) as load:
            time.sleep(1.0)
            stopping = time.monotonic()
            launcher.restart()
            stopped = time.monotonic() - stopping
            launcher.wait_until_healthy()
            time.sleep(2.0)
    finally:
        launcher.close()
    ledger = load.ledger
    assert ledger.failures == []
    assert len(ledger.acknowledged) >= 2 * RATE
    # The drain announce defaults to 0 with LISTEN_FDS: the old process stopped at once...
    assert stopped < 3.0, f"stop took {stopped:.1f} s"
    # ...and deliveries that arrived while no process was accepting waited in the queue.
    assert ledger.slowest > 0.3, "no delivery crossed the restart: the test proved nothing"
    assert_each_acknowledged_event_stored_once(ledger, clean_db)


def test_the_same_restart_without_a_held_socket_refuses_deliveries(clean_db: str, tmp_path: Path) -> None:
    """The control: gunicorn binding its own socket, stopped and started again on the same port."""
    port = free_port()
    old = GunicornServer(clean_db, tmp_path / "old.log", port=port, WEBHOOK_DRAIN_ANNOUNCE="0")
    new = None
    try:
        old.wait_until_healthy()
        with SignedLoad(old.url("/webhooks/stripe"), RATE) as load:
            time.sleep(1.0)
            old.send_signal(signal.SIGTERM)
            old.wait_exit(15)
            new = GunicornServer(clean_db, tmp_path / "new.log", port=port)
            new.wait_until_healthy()
            time.sleep(1.0)
    finally:
        old.kill()
        if new is not None:
            new.kill()
    assert any("ConnectionError" in failure for failure in load.ledger.failures), load.ledger.failures[:3]
    assert_each_acknowledged_event_stored_once(load.ledger, clean_db)
