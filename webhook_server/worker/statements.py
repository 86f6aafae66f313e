"""The worker's statements, as named functions with typed parameters over the ``.sql`` files.

Each function says what its query needs and builds the parameters the ``.sql`` file binds (one
array per column where a statement updates many rows at once); the dispatcher runs every one
through the same path (``Dispatcher._execute``: the connection, the backoff, the stop's limits).
So the SQL stays in files and the Python that calls it reads as calls, not dictionaries.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from webhook_server.sql import Statement

# A row of webhook_events as the worker names it: its id and its received_at, the partition key
# (with it, a statement searches one day's partition instead of every day's).
Row = tuple[int, datetime]


@dataclass(frozen=True)
class Outcome:
    """One attempt's outcome, a row of ``record_outcomes.sql``'s arrays."""

    row_id: int
    received_at: datetime  # the row's partition key: only its day's partition is searched
    attempt: int
    status: str  # the event's: done, failed (due again after retry_in), dead
    # What the attempt came to, for the history: done, failed, timed_out; None when no handler ran.
    result: str | None
    error: str | None = None
    retry_in: float = 0.0


def claim_events(*, limit: int, max_attempts: int, lease_seconds: float, worker: str) -> Statement:
    """Take up to ``limit`` due events, each leased to ``worker`` for ``lease_seconds``."""
    return Statement(
        "claim_events", {"limit": limit, "max_attempts": max_attempts, "lease": lease_seconds, "worker": worker}
    )


def record_outcomes(outcomes: Sequence[Outcome], worker: str) -> Statement:
    """Write each outcome to its event and its attempt history; ends with the count written."""
    return Statement(
        "record_outcomes",
        {
            "ids": [o.row_id for o in outcomes],
            "attempts": [o.attempt for o in outcomes],
            "statuses": [o.status for o in outcomes],
            "results": [o.result for o in outcomes],
            "errors": [o.error for o in outcomes],
            "retry_in": [o.retry_in for o in outcomes],
            "received_ats": [o.received_at for o in outcomes],
            "worker": worker,
        },
    )


def renew_leases(rows: Collection[Row], *, lease_seconds: float, worker: str) -> Statement:
    """Extend ``worker``'s leases on the events it holds."""
    return Statement(
        "renew_leases",
        {
            "ids": [row_id for row_id, _ in rows],
            "received_ats": [received_at for _, received_at in rows],
            "lease": lease_seconds,
            "worker": worker,
        },
    )


def release_events(rows: Sequence[Row], attempts: Sequence[int], worker: str) -> Statement:
    """Give events back, due now, their attempt not counted."""
    return Statement(
        "release_events",
        {
            "ids": [row_id for row_id, _ in rows],
            "received_ats": [received_at for _, received_at in rows],
            "attempts": list(attempts),
            "worker": worker,
        },
    )


def oldest_due() -> Statement:
    """How long the oldest due event has waited (the backlog gauge)."""
    return Statement("oldest_due")


def limit_statement_time(seconds: float) -> Statement:
    """Cap every later statement on this session at ``seconds`` (the stop's limit)."""
    return Statement("limit_statement_time", {"milliseconds": str(int(seconds * 1000))})
