"""The inbox's writer when the database is slow or gone: what a waiting request is told, and a
close that cannot wait forever."""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time

import psycopg
import pytest

from tests.integration.test_ingest import lock_waiters
from webhook_server.errors import DatabaseUnavailable
from webhook_server.harness.polling import wait_for
from webhook_server.inbox import CLOSE_TIMEOUT_SECONDS, Inbox, IncomingEvent, insert_events

TIMEOUT = 1.0
WAITED = re.compile(r"after (\d+\.\d+) s \(WEBHOOK_DB_TIMEOUT=1 s\)")


def event(event_id: str) -> IncomingEvent:
    return IncomingEvent("stripe", event_id, "x", f'{{"id": "{event_id}"}}')


def test_a_timeout_reports_the_wait_each_event_really_had() -> None:
    """Events queued behind a stalled group form the next group, which has only its oldest
    event's time left: one that joined late must not be told it waited the whole timeout."""
    outcomes: dict[str, tuple[str, float]] = {}

    def store(event_id: str) -> None:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable) as caught:
            inbox.store(event(event_id))
        outcomes[event_id] = (str(caught.value), time.monotonic() - started)

    # A server that accepts connections and never answers: the pool waits for a connection in vain.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        inbox = Inbox(f"postgresql://nobody@127.0.0.1:{silent.getsockname()[1]}/none", timeout=TIMEOUT)
        threads = {name: threading.Thread(target=store, args=(name,)) for name in ("first", "early", "late")}
        try:
            threads["first"].start()
            wait_for(lambda: waiting_for_a_connection(inbox), 5, "the writer waiting for a connection")
            threads["early"].start()
            time.sleep(TIMEOUT * 0.7)  # the scenario: "late" arrives while the first group still waits
            threads["late"].start()
            for thread in threads.values():
                thread.join(10)
        finally:
            inbox.close()
    for name, (message, measured) in outcomes.items():
        reported = WAITED.search(message)
        assert reported, message
        assert float(reported[1]) <= measured + 0.05, (name, message, measured)
    assert float(WAITED.search(outcomes["late"][0])[1]) < TIMEOUT * 0.6, outcomes["late"]


def waiting_for_a_connection(inbox: Inbox) -> bool:
    return inbox._pool is not None and inbox._pool.get_stats().get("requests_waiting", 0) == 1


def test_close_warns_about_a_writer_that_does_not_stop_in_time(clean_db: str, caplog: pytest.LogCaptureFixture) -> None:
    inbox = Inbox(clean_db, timeout=CLOSE_TIMEOUT_SECONDS + 3)  # its statement may wait that long
    stuck = event("evt_stuck")
    storing = threading.Thread(target=inbox.store, args=(stuck,))
    with psycopg.connect(clean_db) as holder:  # holds the key the writer's insert needs
        insert_events(holder, [stuck])
        storing.start()
        wait_for(lambda: lock_waiters(clean_db) == 1, 5, "the writer waiting on the row lock")
        with caplog.at_level(logging.WARNING, logger="webhook_server.inbox"):
            inbox.close()
        holder.rollback()
    storing.join(10)
    assert [record.getMessage() for record in caplog.records if "did not stop" in record.getMessage()] == [
        f"inbox writer inbox-writer-{os.getpid()} did not stop within {CLOSE_TIMEOUT_SECONDS:.1f} s; "
        "closing its pool anyway"
    ]
