"""A circuit breaker for the inbox's database: once it is known down, fail at once instead of waiting.

Without it, every delivery during an outage holds a request thread for ``WEBHOOK_DB_TIMEOUT``
before its 503; at 100 deliveries/s the threads run out and answers queue behind them (issue 15
measured 2.3-4.1 s for answers due after 1.5 s).

``CLOSED``: stores go to the database; each attempt (one group commit, or a probe) reports its
outcome. After ``failure_threshold`` failures in a row it turns ``OPEN``: stores fail at once
with CircuitOpen, a DatabaseUnavailable (a 503 with Retry-After, or a spooled 200), and the
inbox's writer probes the database every ``probe_interval`` seconds, one probe at a time. The
first success, of a probe or of a store, closes it. There is no half-open state letting a
delivery through as the test: the probe is the inbox's own insert with no rows, which needs what
a store needs (a connection, the table, its lock) and writes nothing, so no sender waits on it.

Each transition is one log line and a call to ``on_change`` (the metrics, web/metrics.py).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable

from webhook_server.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)

# Three failed attempts in a row: one lost connection is retried inside an attempt, so a single
# database restart never opens it, while an outage does within milliseconds under load.
DEFAULT_FAILURE_THRESHOLD = 3
# Four probes a second per worker: a sender's 503 after the database is back lasts at most this.
DEFAULT_PROBE_INTERVAL = 0.25


class CircuitState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"


class CircuitOpen(DatabaseUnavailable):
    """The database failed ``failure_threshold`` times in a row and no probe has succeeded since."""


class Circuit:
    """Counts consecutive database failures, opens at the threshold, schedules probes while open."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int,
        probe_interval: float,
        on_change: Callable[[CircuitState], None] | None = None,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.probe_interval = probe_interval
        self._on_change = on_change
        self._lock = threading.Lock()
        self._state: CircuitState = CircuitState.CLOSED
        self._failures: int = 0  # in a row, since the last success
        self._last_error: str = ""
        self._opened_at: float = 0.0  # time.time() of the last opening, for the message
        self._opened_monotonic: float = 0.0
        self._next_probe_at: float = 0.0  # monotonic; meaningful while open

    @property
    def state(self) -> CircuitState:
        return self._state

    def check(self) -> None:
        """Raise CircuitOpen while open: the caller must not wait for the database then.

        Read without the lock: a request that races a transition is served as if it came a
        moment earlier or later.
        """
        if self._state is CircuitState.OPEN:
            raise CircuitOpen(
                f"the database is unavailable: {self._failures} failures in a row since "
                f"{time.strftime('%H:%M:%S', time.gmtime(self._opened_at))} UTC, the last: {self._last_error}; "
                f"checked every {self.probe_interval:g} s"
            )

    def probe_delay(self) -> float | None:
        """Seconds until the next probe is due (0 when it is): None while closed, nothing to probe."""
        if self._state is CircuitState.CLOSED:
            return None
        return max(0.0, self._next_probe_at - time.monotonic())

    def record_success(self) -> None:
        with self._lock:  # critical section: the state and the count change together
            self._failures = 0
            if self._state is CircuitState.CLOSED:
                return
            self._state = CircuitState.CLOSED
            open_for = time.monotonic() - self._opened_monotonic
        logger.warning(
            "database circuit %s closed: the database answered again after %.2f s open; stores resume",
            self.name,
            open_for,
            extra={"circuit": CircuitState.CLOSED.value},
        )
        self._changed(CircuitState.CLOSED)

    def record_failure(self, error: Exception) -> None:
        with self._lock:  # critical section: the state and the count change together
            self._failures += 1
            self._last_error = str(error)
            self._next_probe_at = time.monotonic() + self.probe_interval
            if self._state is CircuitState.OPEN or self._failures < self.failure_threshold:
                return
            self._state = CircuitState.OPEN
            self._opened_at = time.time()
            self._opened_monotonic = time.monotonic()
        logger.error(
            "database circuit %s open after %s failures in a row (the last: %s): stores now fail at once; "
            "probing every %g s",
            self.name,
            self._failures,
            error,
            self.probe_interval,
            extra={"circuit": CircuitState.OPEN.value},
        )
        self._changed(CircuitState.OPEN)

    def _changed(self, state: CircuitState) -> None:
        if self._on_change is not None:
            self._on_change(state)
