"""``--since``: a duration back from now (``30m``, ``12h``, ``3d``) or an ISO 8601 timestamp.

One parser for every command, so ``events list``, ``replay`` and ``reconcile`` read the same
values the same way. A timestamp without a zone is taken as UTC, the zone the database and the
logs speak.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^(\d+)([smhdw])$")

SINCE_HELP = "a duration (30m, 12h, 3d) or an ISO 8601 timestamp (2026-01-31T08:00:00Z, UTC if no zone)"


def parse_duration(text: str) -> timedelta | None:
    """``30m`` → 30 minutes; None when ``text`` is not a duration."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        return None
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """The moment ``text`` names, as an aware UTC datetime.

    Raises ValueError with a message that shows both accepted forms.
    """
    now = now or datetime.now(UTC)
    duration = parse_duration(text)
    if duration is not None:
        return now - duration
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration (a number and one of s, m, h, d, w: 30m, 12h, 3d) "
            "nor an ISO 8601 timestamp (2026-01-31, 2026-01-31T08:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
