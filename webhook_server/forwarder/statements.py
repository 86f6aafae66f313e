"""The forwarder's statements, as named functions with typed parameters over the ``.sql`` files.

The dispatcher runs each through one path (``Forwarder._execute``: the connection, the backoff);
the operator commands run the same ones on their own connection.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from webhook_server.sql import Statement


@dataclass(frozen=True)
class Outcome:
    """One attempt's outcome, a row of ``record_deliveries.sql``'s arrays."""

    delivery_id: int
    attempt: int
    status: str  # the delivery's: delivered, failed (due again after retry_in), dead
    result: str  # the attempt's, for the history: delivered or failed
    status_code: int | None = None
    latency: float | None = None
    response: str | None = None
    error: str | None = None
    retry_in: float = 0.0


def register_destinations(names: Sequence[str]) -> Statement:
    """Make the destinations known (and so start the fan-out queue); existing ones keep their state."""
    return Statement("register_destinations", {"names": list(names)})


def take_fan_out(limit: int) -> Statement:
    """Take events not yet fanned out: (row, endpoint, type); run in a transaction with insert_deliveries."""
    return Statement("take_fan_out", {"limit": limit})


def insert_deliveries(matches: Sequence[tuple[str, int, str]]) -> Statement:
    """One delivery per (destination, event row, the event's endpoint)."""
    return Statement(
        "insert_deliveries",
        {
            "destinations": [m[0] for m in matches],
            "event_rows": [m[1] for m in matches],
            "endpoints": [m[2] for m in matches],
        },
    )


def claim_deliveries(
    limits: Mapping[str, int], leases: Mapping[str, float], ordered: Collection[str], worker: str
) -> Statement:
    """Claim up to ``limits[name]`` due deliveries of each destination, leased for ``leases[name]`` seconds;
    for an ``ordered`` one only each endpoint's earliest waiting delivery."""
    names = list(limits)
    return Statement(
        "claim_deliveries",
        {
            "destinations": names,
            "limits": [limits[n] for n in names],
            "leases": [leases[n] for n in names],
            "ordered": [n in ordered for n in names],
            "worker": worker,
        },
    )


def record_deliveries(outcomes: Sequence[Outcome], worker: str) -> Statement:
    """Write each outcome to its delivery and its history; ends with the count written."""
    return Statement(
        "record_deliveries",
        {
            "ids": [o.delivery_id for o in outcomes],
            "attempts": [o.attempt for o in outcomes],
            "statuses": [o.status for o in outcomes],
            "results": [o.result for o in outcomes],
            "status_codes": [o.status_code for o in outcomes],
            "latencies": [o.latency for o in outcomes],
            "responses": [o.response for o in outcomes],
            "errors": [o.error for o in outcomes],
            "retry_in": [o.retry_in for o in outcomes],
            "worker": worker,
        },
    )


def release_deliveries(jobs: Sequence[tuple[int, int]], worker: str) -> Statement:
    """Give back claimed deliveries not sent yet, (id, attempt) each: due now, the attempt not counted."""
    return Statement(
        "release_deliveries", {"ids": [j[0] for j in jobs], "attempts": [j[1] for j in jobs], "worker": worker}
    )


def pause_destination(name: str, reason: str) -> Statement:
    """Pause ``name``; returns a row only when this call paused it."""
    return Statement("pause_destination", {"name": name, "reason": reason})


def destination_states() -> Statement:
    """Each registered destination: name, paused_at, paused_reason, oldest due (s), dead count."""
    return Statement("destination_states")
