"""The drainer: a thread per gunicorn worker that moves spooled events into Postgres.

Every worker of every server on the host runs one, so the spool drains from whichever process
is alive, including one started after the process that spooled the events was killed. A
drainer claims a batch (a lease in the SQLite file, so two drainers do not insert the same
rows at once), inserts it with the inbox's own idempotent ``insert_events``, and deletes the
rows only after that commit. A kill between the commit and the delete leaves the rows, and the
next drainer's insert skips them: nothing lost, nothing stored twice.

While the spool is empty the drainer only looks at the SQLite file, once a second; it connects
to Postgres when there is something to move, and retries every ``MAX_BACKOFF_SECONDS`` at most
while Postgres is down.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import psycopg
from psycopg import errors as pg_errors

from webhook_server import db
from webhook_server.errors import first_line
from webhook_server.inbox import insert_events
from webhook_server.spool.store import Claimed, Spool

logger = logging.getLogger(__name__)

# Events per insert: one statement and one commit each, as in the inbox's group commit.
BATCH = 100
# How often an idle drainer looks for events spooled by another process.
IDLE_POLL_SECONDS = 1.0
# Retries while Postgres is down: the first after this, doubling up to the maximum.
FIRST_BACKOFF_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 2.0
# A claim outlives the longest insert (connect plus statement_timeout), so two live drainers
# never insert the same batch; a killed drainer's batch waits this long for the next one.
MIN_LEASE_SECONDS = 10.0
# An event Postgres refuses (a payload jsonb cannot hold) is kept and tried again this much later.
REFUSED_RETRY_SECONDS = 300.0
STOP_TIMEOUT_SECONDS = 2.0


class Drainer:
    """Moves ``spool``'s events into ``webhook_events`` from a thread of this process."""

    def __init__(
        self,
        spool: Spool,
        database_url: str,
        *,
        timeout: float,
        on_drained: Callable[[int], object] = lambda count: None,
    ) -> None:
        self.spool = spool
        self.database_url = database_url
        self.timeout = timeout
        self.lease = max(MIN_LEASE_SECONDS, 4 * timeout)
        self.on_drained = on_drained
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._owner_pid: int | None = None

    def start(self) -> None:
        """Start the thread in this process, once; called after fork, like the inbox's writer."""
        if self._owner_pid == os.getpid():
            return
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"spool-drainer-{os.getpid()}", daemon=True)
        self._thread.start()
        self._owner_pid = os.getpid()

    def stop(self) -> None:
        """Stop after the batch in hand; a batch cut short by the exit is the next drainer's."""
        if self._owner_pid != os.getpid():
            return
        self._stopping.set()
        assert self._thread is not None
        self._thread.join(STOP_TIMEOUT_SECONDS)
        self._owner_pid = None

    def _run(self) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        failing = False
        while not self._stopping.is_set():
            try:
                moved = self.drain()
            except Exception as exc:  # the thread must outlive any outage
                if not failing:
                    logger.warning("spool: cannot drain into Postgres yet, retrying: %s", first_line(exc))
                failing = True
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            if moved:
                logger.info("spool: drained %s events into Postgres", moved)
            failing, backoff = False, FIRST_BACKOFF_SECONDS
            self._stopping.wait(IDLE_POLL_SECONDS)

    def drain(self) -> int:
        """Move every claimable event into Postgres; return how many this call moved."""
        if not self.spool.claimable():
            return 0
        moved = 0
        with db.connect(self.database_url, timeout=self.timeout) as conn:
            while not self._stopping.is_set():
                claim, batch = self.spool.claim(BATCH, self.lease)
                if not batch:
                    break
                try:
                    stored = self._insert(conn, batch)
                except BaseException:
                    self.spool.release(claim)
                    raise
                removed = self.spool.remove([item.id for item in stored])
                self.on_drained(removed)
                moved += removed
        return moved

    def _insert(self, conn: psycopg.Connection, batch: list[Claimed]) -> list[Claimed]:
        """Commit the batch; returns the events now in Postgres (all but those it refused)."""
        try:
            insert_events(conn, [item.event for item in batch])
            return batch
        except pg_errors.DataError:
            pass  # one payload fails the whole statement: insert them one by one
        stored, refused = [], []
        for item in batch:
            try:
                insert_events(conn, [item.event])
                stored.append(item)
            except pg_errors.DataError as exc:
                logger.error(
                    "spool: Postgres refused %s %s (%s); it stays in the spool and is tried again in %.0f s",
                    item.event.scheme,
                    item.event.event_id,
                    first_line(exc),
                    REFUSED_RETRY_SECONDS,
                )
                refused.append(item.id)
        if refused:
            self.spool.defer(refused, REFUSED_RETRY_SECONDS)
        return stored
