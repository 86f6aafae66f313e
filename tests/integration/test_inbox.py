"""The inbox's writer when the database is slow or gone: what a waiting request is told, and a
close that cannot wait forever."""

from __future__ import annotations

import logging
import os
import re
import select
import socket
import threading
import time

import psycopg
import pytest

from tests.harness.polling import wait_for
from tests.integration.test_ingest import lock_waiters
from webhook_server.errors import DatabaseUnavailable
from webhook_server.inbox import CLOSE_TIMEOUT_SECONDS, Inbox, IncomingEvent, Pending, insert_events

TIMEOUT = 1.0
WAITED = re.compile(r"after (\d+\.\d+) s \(WEBHOOK_DB_TIMEOUT=1 s\)")
WAITED_03 = re.compile(r"did not commit after 0\.\d\d s \(WEBHOOK_DB_TIMEOUT=0\.3 s\)")


def event(event_id: str) -> IncomingEvent:
    return IncomingEvent("stripe", event_id, "x", f'{{"id": "{event_id}"}}')


def test_a_timeout_reports_the_wait_each_event_really_had() -> None:
    """Events queued behind a stalled writer each wait their own timeout, and are told the wait
    they really had, not the whole timeout nor the writer's."""
    outcomes: dict[str, tuple[str, float]] = {}

    def store(event_id: str) -> None:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable) as caught:
            inbox.store(event(event_id))
        outcomes[event_id] = (str(caught.value), time.monotonic() - started)

    # A server that accepts connections and never answers: the writer's connect waits in vain
    # (libpq's connect_timeout has a floor of 2 s, longer than TIMEOUT).
    with socket.create_server(("127.0.0.1", 0)) as silent:
        inbox = Inbox(f"postgresql://nobody@127.0.0.1:{silent.getsockname()[1]}/none", timeout=TIMEOUT)
        threads = {name: threading.Thread(target=store, args=(name,)) for name in ("first", "early", "late")}
        try:
            inbox.start()
            wait_for(lambda: select.select([silent], [], [], 0)[0], 5, "the writer connecting")
            threads["first"].start()
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
        assert TIMEOUT <= float(reported[1]) <= measured + 0.05, (name, message, measured)


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
        f"inbox writer inbox-writer-{os.getpid()} did not stop within {CLOSE_TIMEOUT_SECONDS:.1f} s; leaving it behind"
    ]


def test_submit_calls_back_once_with_the_commits_outcome(clean_db: str) -> None:
    inbox = Inbox(clean_db, timeout=5.0)
    settled = [threading.Event(), threading.Event()]
    try:
        first = inbox.submit(event("evt_submitted"), settled[0].set)
        again = inbox.submit(event("evt_submitted"), settled[1].set)
        assert all(signal.wait(5) for signal in settled)
    finally:
        inbox.close()
    assert (first.error, first.duplicate) == (None, False)
    assert (again.error, again.duplicate) == (None, True)


def test_a_submitted_event_past_its_deadline_fails_once_and_the_late_outcome_is_ignored() -> None:
    """expire() settles an event the writer has not settled by its deadline; whatever the writer
    says afterwards changes nothing, and the callback runs once."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the writer's connect waits in vain
        inbox = Inbox(f"postgresql://nobody@127.0.0.1:{silent.getsockname()[1]}/none", timeout=0.3)
        calls: list[str] = []
        try:
            pending = inbox.submit(event("evt_late"), lambda: calls.append("settled"))
            inbox.expire(pending)  # not yet due: nothing happens
            assert not pending.settled
            time.sleep(0.35)
            inbox.expire(pending)
            pending.resolve(duplicate=True)  # the writer, too late
        finally:
            inbox.close()
    assert calls == ["settled"]
    assert isinstance(pending.error, DatabaseUnavailable) and not pending.duplicate
    assert WAITED_03.search(str(pending.error)), pending.error


def test_a_remembered_failure_fails_the_next_store_of_that_event_at_once(clean_db: str) -> None:
    inbox = Inbox(clean_db, timeout=TIMEOUT)
    failed = Pending(event("evt_failed"), time.monotonic(), TIMEOUT, lambda: None)  # as submit() makes it
    failed.fail(DatabaseUnavailable("the database did not commit after 1.00 s"))
    inbox.remember_failure(failed)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match=r"did not commit after 1\.00 s"):
            inbox.store(event("evt_failed"))
        assert time.monotonic() - started < TIMEOUT / 2  # not the wait a store would have
        assert inbox.store(event("evt_failed")) is False  # remembered for one store only
        assert inbox.store(event("evt_other")) is False
    finally:
        inbox.close()


def test_a_remembered_failure_older_than_the_timeout_is_forgotten(clean_db: str) -> None:
    inbox = Inbox(clean_db, timeout=0.2)
    failed = Pending(event("evt_old"), time.monotonic(), 0.2, lambda: None)
    failed.fail(DatabaseUnavailable("long ago"))
    inbox.remember_failure(failed)
    time.sleep(0.3)
    try:
        assert inbox.store(event("evt_old")) is False
    finally:
        inbox.close()


def test_an_event_stored_without_jsonb_logs_why_without_quoting_its_body(
    clean_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Postgres' message for a refused jsonb quotes the text around the fault (CONTEXT, a DETAIL
    naming the token): a payload's fragments must stay out of the logs."""
    bodies = {
        "evt_nul": '{"id": "evt_nul", "card": "4242-secret-nul \\u0000"}',
        "evt_surrogate": '{"id": "evt_surrogate", "card": "4242-secret-surrogate \\ud800"}',
        "evt_nan": '{"id": "evt_nan", "card": "4242-secret-nan", "amount": NaN}',  # Python's json takes it
    }
    caplog.set_level(logging.WARNING, "webhook_server.inbox")
    with psycopg.connect(clean_db, autocommit=True) as conn:
        inserted = insert_events(conn, [IncomingEvent("test", key, "test.event", body) for key, body in bodies.items()])
    assert inserted == {("test", key) for key in bodies}
    warnings = [record.getMessage() for record in caplog.records if "stored without jsonb" in record.getMessage()]
    assert len(warnings) == 3, warnings
    assert all("4242" not in warning and "secret" not in warning for warning in warnings), warnings
    assert all("(SQLSTATE 22" in warning for warning in warnings), warnings
