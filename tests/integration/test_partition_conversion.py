"""`migrate --partition` on a populated inbox while a real server keeps storing deliveries and
senders keep retrying old ones: no delivery fails, none is lost, none is stored twice.

What this proves at its size (POPULATED_ROWS, on a test Postgres with fsync off): the procedure
and its locking are right under traffic; the new and the retried events straddle the swap. It
does not prove the timings of a 100 M-row table (the key backfill, two index builds and two
validations scale with the table; the swap does not): see docs/how-to/retention-and-partitions.md.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import requests

from tests.harness.gunicorn import STRIPE_SECRET, GunicornServer
from tests.harness.load import SignedLoad, assert_each_acknowledged_event_stored_once
from tests.integration.test_migrate import BEFORE_PARTITIONS, fresh_database
from webhook_server.dev.samples import signed_stripe_request, stripe_event
from webhook_server.inbox import IncomingEvent, insert_events
from webhook_server.migrations import convert_to_partitions, migrate

POPULATED_ROWS = 100_000
RATE = 100
# Old events sent again while the table converts, as a sender retrying would (each a duplicate).
RETRIES_PER_SECOND = 20


def populated_plain_database(database_url: str, name: str) -> str:
    """A database as 0.1.0 finds it: the plain table, POPULATED_ROWS events over the last two days
    with their history, then 0009 applied (which leaves a populated table as it is)."""
    url = fresh_database(database_url, name)
    migrate(url, shipped=BEFORE_PARTITIONS)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO webhook_events (provider, event_id, event_type, payload, status, received_at) "
            "SELECT 'stripe', 'evt_old_' || n, 'invoice.paid', jsonb_build_object('id', 'evt_old_' || n), "
            "CASE WHEN n %% 10 = 0 THEN 'dead' ELSE 'done' END, now() - make_interval(secs => n) "
            "FROM generate_series(1, %s) AS n",
            (POPULATED_ROWS,),
        )
        conn.execute(
            "INSERT INTO webhook_event_attempts (event_row, attempt, worker, started_at, finished_at, outcome) "
            "SELECT id, 1, 'host:1', received_at, received_at, 'done' FROM webhook_events WHERE id % 100 = 0"
        )
    # 0009 leaves a populated table as it is; 0010 then adds forwarding's triggers to it.
    assert migrate(url) == ["0009_partitions", "0010_forwarding"]
    return url


class Retries:
    """Sends old events again from a thread: every answer must be a 200 saying duplicate."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[tuple[str, int, bool | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retries", daemon=True)

    def __enter__(self) -> Retries:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        number = 0
        while not self._stop.wait(1 / RETRIES_PER_SECOND):
            number += 997  # spread over the whole table
            event_id = f"evt_old_{number % POPULATED_ROWS + 1}"
            body, headers = signed_stripe_request(stripe_event("invoice.paid", event_id=event_id), STRIPE_SECRET)
            try:
                response = requests.post(self.url, data=body, headers=headers, timeout=10)
            except requests.RequestException:
                self.answers.append((event_id, 0, None))
                continue
            duplicate = response.json().get("duplicate") if response.ok else None
            self.answers.append((event_id, response.status_code, duplicate))


def test_a_populated_inbox_converts_to_partitions_under_traffic(database_url: str, tmp_path: Path) -> None:
    url = populated_plain_database(database_url, "convert_traffic")
    server = GunicornServer(url, tmp_path / "gunicorn.log")
    try:
        server.wait_until_healthy()
        endpoint = server.url("/webhooks/stripe")
        with SignedLoad(endpoint, RATE, senders=4) as load, Retries(endpoint) as retries:
            time.sleep(1.0)
            started = time.monotonic()
            assert convert_to_partitions(url)
            converted = time.monotonic()
            time.sleep(1.0)
    finally:
        server.kill()
    during = [a for a in load.ledger.answers if started <= a.sent_at <= converted]
    assert len(during) >= 10, f"only {len(during)} deliveries during the conversion: the test proves little"
    assert load.ledger.failures == []
    assert [a for a in retries.answers if a[1:] != (200, True)] == []
    assert len(retries.answers) >= 20
    stored = assert_each_acknowledged_event_stored_once(load.ledger, url)
    assert len(stored) == POPULATED_ROWS + len(load.ledger.acknowledged)
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT relkind FROM pg_class WHERE oid = 'webhook_events'::regclass").fetchone() == ("p",)
        partitions = {name for (name,) in conn.execute("SELECT inhrelid::regclass::text FROM pg_inherits")}
        assert {"webhook_events_legacy", "webhook_event_attempts_legacy"} <= partitions
        assert conn.execute("SELECT count(*) FROM webhook_event_attempts").fetchone() == (POPULATED_ROWS // 100,)
        # Every event has its key: an old one and a new one are duplicates from now on.
        retried = [
            IncomingEvent("stripe", "evt_old_1", "t", "{}"),
            IncomingEvent("stripe", load.ledger.acknowledged[-1], "t", "{}"),
        ]
        assert insert_events(conn, retried) == set()
        assert conn.execute("SELECT count(*) FROM webhook_event_keys").fetchone() == (len(stored),)
        # The old table's triggers moved to the parent, a later migration's too: an insert through
        # the parent notifies the worker and is queued for forwarding; a delete takes its history.
        triggers = {
            name for (name,) in conn.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'webhook_events'::regclass")
        }
        assert triggers == {
            "webhook_events_notify",
            "webhook_events_delete_attempts",
            "webhook_events_truncate_attempts",
            "webhook_events_queue_forwarding",
            "webhook_events_delete_deliveries",
            "webhook_events_truncate_deliveries",
        }
        conn.execute("INSERT INTO webhook_destinations (name) VALUES ('app')")
        assert insert_events(conn, [IncomingEvent("stripe", "evt_after_conversion", "t", "{}")])
        queued = conn.execute(
            "SELECT count(*) FROM webhook_forward_queue AS q JOIN webhook_events AS e ON e.id = q.event_row "
            "WHERE e.event_id = 'evt_after_conversion'"
        ).fetchone()
        assert queued == (1,)
    assert convert_to_partitions(url) is False  # once only
