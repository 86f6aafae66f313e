"""The spool's SQLite file: durable before the 200, shared by every process on the host.

Each commit is fsynced (WAL, ``synchronous=FULL``): an event answered ``"spooled": true``
survives ``kill -9`` and a power cut. Writers take SQLite's write lock up front
(``BEGIN IMMEDIATE``) and wait at most ``BUSY_TIMEOUT_SECONDS`` for another process to release
it. An event that would take the rows past ``WEBHOOK_SPOOL_MAX_BYTES`` is refused, and the
request gets today's 503; only new events are bounded, so a full spool still drains (claiming a
row writes to it too, which SQLite's own ``max_page_count`` would refuse).

A process opens its own connection on first use, so a Spool built before gunicorn forks is safe;
one lock per process serialises its threads on that connection.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from webhook_server import sql
from webhook_server.errors import DatabaseUnavailable
from webhook_server.inbox import IncomingEvent
from webhook_server.spool import record

logger = logging.getLogger(__name__)

FILE_NAME = "spool.sqlite3"
# Every write is a short transaction; longer than this means a stuck process or a sick disk.
BUSY_TIMEOUT_SECONDS = 5.0
# After a checkpoint, the write-ahead log is cut back to this size.
WAL_SIZE_LIMIT = 64 * 1024 * 1024


class SpoolUnavailable(DatabaseUnavailable):
    """Postgres could not commit and the spool could not take the event either: a 503, as without one."""


@dataclass(frozen=True)
class Claimed:
    """A spooled event held by one drainer; ``id`` is its spool row."""

    id: int
    event: IncomingEvent


@dataclass(frozen=True)
class Summary:
    """What the spool holds: events, and the age of the oldest in seconds (None when empty)."""

    events: int
    oldest_age: float | None


class _Put:
    """One thread's event on its way into the spool, and the outcome the writing thread leaves."""

    __slots__ = ("blobs", "done", "duplicate", "error", "params", "size")

    def __init__(self, event: IncomingEvent) -> None:
        fields, self.blobs = record.to_rows(event)
        self.params = {
            "scheme": event.scheme,
            "event_id": event.event_id,
            "fields": fields,
            "spooled_at": time.time(),
        }
        self.size = len(fields) + sum(len(blob) for blob in self.blobs.values())
        self.done = False
        self.duplicate = False
        self.error: SpoolUnavailable | None = None


def _query(name: str) -> str:
    return sql.query(name, folder="spool")


class Spool:
    """Verified events waiting for Postgres, in ``<directory>/spool.sqlite3``."""

    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        self.path = directory / FILE_NAME
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        # Events waiting for the next group commit (see ``put``), guarded by their own lock.
        self._waiting: list[_Put] = []
        self._waiting_lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        # The process that opened ``_conn``; a forked child opens its own.
        self._owner_pid: int | None = None

    def put(self, event: IncomingEvent) -> bool:
        """Keep ``event`` durably; True if it was spooled already (a redelivery during the outage).

        Raises SpoolUnavailable when the spool is full or its disk fails. Threads that put at
        the same moment share one transaction and one fsync (group commit): the thread that
        gets the connection writes every event waiting at that moment, its own included.
        """
        try:
            put = _Put(event)
        except (TypeError, ValueError) as exc:  # a field record.py cannot keep: a 503, and the log says why
            raise self._unavailable(exc) from None
        with self._waiting_lock:
            self._waiting.append(put)
        try:
            with self._connection() as conn:
                if not put.done:
                    with self._waiting_lock:
                        batch, self._waiting = self._waiting, []
                    self._write(conn, batch)
        except (sqlite3.Error, OSError) as exc:  # the file cannot be opened: a 503, and not written later
            with self._waiting_lock:
                if put in self._waiting:
                    self._waiting.remove(put)
            raise self._unavailable(exc) from None
        if put.error is not None:
            raise put.error
        return put.duplicate

    def _write(self, conn: sqlite3.Connection, batch: list[_Put]) -> None:
        """One transaction for the batch; every event gets its outcome, and none is told "stored" unless
        the commit happened (whatever interrupts this thread)."""
        error: SpoolUnavailable | None = SpoolUnavailable(f"writing to the spool at {self.path} was interrupted")
        try:
            with _transaction(conn):
                used = conn.execute(_query("used_bytes")).fetchone()[0]
                for put in batch:
                    if used + put.size > self.max_bytes:
                        put.error = self._full()
                        continue
                    cursor = conn.execute(_query("put_event"), put.params)
                    put.duplicate = cursor.rowcount == 0
                    if not put.duplicate:
                        used += put.size
                        for field, value in put.blobs.items():
                            blob = {"event": cursor.lastrowid, "field": field, "value": value}
                            conn.execute(_query("put_bytes"), blob)
            error = None
        except Exception as exc:  # a disk error, or anything else: a 503, never a 200 for an event not written
            error = self._unavailable(exc)
        finally:
            for put in batch:
                put.error = put.error or error
                put.done = True

    def claimable(self) -> bool:
        """Whether an event waits that no live claim holds."""
        with self._connection() as conn:
            return bool(conn.execute(_query("claimable"), {"now": time.time()}).fetchone()[0])

    def claim(self, limit: int, lease: float) -> tuple[str, list[Claimed]]:
        """Hold up to ``limit`` of the oldest unclaimed events for ``lease`` seconds; returns the claim's name."""
        with self._transaction() as conn:
            claim = f"{os.getpid()}/{secrets.token_hex(6)}"
            now = time.time()
            conn.execute(_query("claim_events"), {"claim": claim, "until": now + lease, "now": now, "limit": limit})
            rows = conn.execute(_query("claimed_events"), {"claim": claim}).fetchall()
            blobs: dict[int, list[tuple[str, bytes]]] = {}
            for event, field, value in conn.execute(_query("claimed_bytes"), {"claim": claim}):
                blobs.setdefault(event, []).append((field, value))
        return claim, [Claimed(row_id, record.from_rows(fields, blobs.get(row_id, ()))) for row_id, fields in rows]

    def remove(self, ids: list[int]) -> int:
        """Delete events committed to Postgres; returns how many were still here."""
        with self._transaction() as conn:
            return conn.execute(_query("remove_events"), {"ids": json.dumps(ids)}).rowcount

    def release(self, claim: str) -> None:
        """Give a claim's events back at once (their insert failed)."""
        with self._transaction() as conn:
            conn.execute(_query("release_claim"), {"claim": claim})

    def defer(self, ids: list[int], seconds: float) -> None:
        """Leave these events alone for ``seconds`` (Postgres refused them)."""
        with self._transaction() as conn:
            conn.execute(_query("defer_events"), {"ids": json.dumps(ids), "until": time.time() + seconds})

    def summary(self) -> Summary:
        with self._connection() as conn:
            return _summary(conn)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._owner_pid == os.getpid():
                self._conn.close()
            self._conn = None
            self._owner_pid = None

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:  # critical section: one statement or transaction at a time per process
            if self._owner_pid != os.getpid():
                self._conn = self._open()
                self._owner_pid = os.getpid()
            assert self._conn is not None
            yield self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as conn, _transaction(conn):
            yield conn

    def _open(self) -> sqlite3.Connection:
        _create_private(self.path)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
            conn.executescript(_query("schema"))
        except BaseException:
            conn.close()
            raise
        return conn

    def _full(self) -> SpoolUnavailable:
        logger.error("spool full at %s (WEBHOOK_SPOOL_MAX_BYTES=%s): answering 503", self.path, self.max_bytes)
        return SpoolUnavailable(
            f"the database is unavailable and the spool at {self.path} is full "
            f"(WEBHOOK_SPOOL_MAX_BYTES={self.max_bytes})"
        )

    def _unavailable(self, exc: Exception) -> SpoolUnavailable:
        logger.error("spool at %s failed: %s", self.path, exc)
        return SpoolUnavailable(f"the database is unavailable and the spool at {self.path} failed: {exc}")


def _create_private(path: Path) -> None:
    """Create the spool file 0600 before SQLite does, and make an older one 0600 too.

    SQLite would create it 0644 under a usual umask, and gives its ``-wal``, ``-shm`` and
    ``-journal`` files the file's own mode: the bodies in them would be readable by every user
    who can enter the directory. Raises OSError when the file cannot be opened.
    """
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(descriptor).st_mode & 0o077:
            os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")  # the write lock now, or wait for it up to the busy timeout
    try:
        yield
    except BaseException:
        if conn.in_transaction:  # SQLite has rolled back already after some errors (a full disk)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def read_summary(directory: Path) -> Summary:
    """The spool's summary for an operator command, read without writing a byte.

    A read-only SQLite connection still creates the ``-wal`` and ``-shm`` files when they are
    missing, owned by whoever runs the command (root, say), and the server could then no longer
    open them. They are missing only when no process has the file open and it is fully
    checkpointed, and then the file alone is the truth: it is read as immutable.
    """
    path = (directory / FILE_NAME).resolve()
    if not path.exists():
        return Summary(0, None)
    immutable = "" if path.with_name(FILE_NAME + "-wal").exists() else "&immutable=1"
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro{immutable}", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        return _summary(conn)
    finally:
        conn.close()


def _summary(conn: sqlite3.Connection) -> Summary:
    events, oldest = conn.execute(_query("summary")).fetchone()
    return Summary(events, None if oldest is None else max(0.0, time.time() - oldest))
