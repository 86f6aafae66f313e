"""What the loops over stored rows share (the worker's dispatcher, the forwarder's): the messages
that wake them (a NOTIFY, a signal), the thread that turns Postgres NOTIFYs into wake-ups, and the
backoff after a failed database call.

Notifies are an accelerator, not a guarantee (one sent while the listener reconnects is lost):
each loop also polls on a timer, and after each reconnect the listener wakes it once to cover
the gap.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from webhook_server import db, sql

logger = logging.getLogger(__name__)

# Waits after a failed database call: doubled each time up to the maximum.
DB_BACKOFF_FIRST = 0.5
DB_BACKOFF_MAX = 10.0
# How often the listener checks whether it should stop, between notifies.
LISTEN_CHECK_SECONDS = 0.5


# The listener's message to its loop: new events (or a replay, a resume) may be due.
WAKE = "wake"


@dataclass(frozen=True)
class Stop:
    """A signal arrived; ``at`` is its monotonic time; ``immediate`` for the second one."""

    at: float
    immediate: bool = False


def receive(messages: queue.SimpleQueue[object], timeout: float) -> list[object]:
    """Wait up to ``timeout`` for a loop's next message, then take every one already waiting: the
    loop sleeps in this one place and handles what came meanwhile in one go."""
    try:
        first = messages.get(timeout=timeout) if timeout > 0 else messages.get_nowait()
    except queue.Empty:
        return []
    taken = [first]
    while True:
        try:
            taken.append(messages.get_nowait())
        except queue.Empty:
            return taken


class Backoff:
    """The wait after each failed database call: doubled every time, back to the first on success."""

    def __init__(self) -> None:
        self.wait = DB_BACKOFF_FIRST

    @property
    def raised(self) -> bool:
        """Whether a call has failed since the last success."""
        return self.wait > DB_BACKOFF_FIRST

    def failed(self) -> float:
        """The wait before the next try; the one after it is twice as long, up to the maximum."""
        wait = self.wait
        self.wait = min(DB_BACKOFF_MAX, wait * 2)
        return wait

    def reset(self) -> None:
        self.wait = DB_BACKOFF_FIRST

    def retry_at(self, what: str, problem: str) -> float:
        """Log that ``what`` failed and return the monotonic time to try the database again."""
        wait = self.failed()
        logger.warning("%s failed, retrying in %.1f s: %s", what, wait, problem)
        return time.monotonic() + wait


class Listener:
    """A thread on its own connection that LISTENs for new events and calls ``wake`` for each NOTIFY.

    Behind a transaction pooler that connection goes straight to Postgres (db.session_url):
    ConfigError at construction, that is at the process's start, when no direct URL is set.
    """

    def __init__(self, database_url: str, db_timeout: float, wake: Callable[[], None], *, name: str) -> None:
        # LISTEN through a transaction pooler hears nothing: the listener needs a session of its own.
        self._database_url = db.session_url(database_url)
        self._db_timeout = db_timeout
        self._wake = wake
        self._name = name
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        backoff = Backoff()
        while not self._stopped.is_set():
            try:
                with db.connect(self._database_url, timeout=self._db_timeout, application_name=self._name) as conn:
                    conn.execute(sql.query("listen_events"))
                    logger.info("listening for new events")
                    self._wake()
                    backoff.reset()
                    while not self._stopped.is_set():
                        for _ in conn.notifies(timeout=LISTEN_CHECK_SECONDS):
                            self._wake()
            except psycopg.Error as exc:
                wait = backoff.failed()
                logger.warning("LISTEN connection failed, retrying in %.1f s: %s", wait, exc)
                self._stopped.wait(wait)
