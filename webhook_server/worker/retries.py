"""When a failed event is tried again, and what its failure leaves in ``last_error``.

The wait doubles after each failed attempt from ``WEBHOOK_RETRY_BASE`` up to ``WEBHOOK_RETRY_CAP``;
each wait is then spread by ±25 % so that events that failed together (an API down for a minute)
do not all come back in the same second. With the defaults (3 min, 12 h, 10 attempts) the nine
waits add up to about a day, the same order as Stripe's own retries.
"""

from __future__ import annotations

import random
import traceback

from webhook_server.safe_text import storable

JITTER = 0.25
# last_error keeps the exception line and the innermost frames, up to this many characters.
MAX_ERROR_CHARS = 4000


def nominal_delay(failed_attempt: int, *, base: float, cap: float) -> float:
    """The wait after attempt number ``failed_attempt`` (1-based) failed, before jitter."""
    return min(cap, base * 2.0 ** min(failed_attempt - 1, 64))


def retry_delay(failed_attempt: int, *, base: float, cap: float) -> float:
    """The jittered wait in seconds; never above ``cap``."""
    nominal = nominal_delay(failed_attempt, base=base, cap=cap)
    return min(cap, nominal * random.uniform(1 - JITTER, 1 + JITTER))


def schedule(max_attempts: int, *, base: float, cap: float) -> list[float]:
    """The nominal waits between ``max_attempts`` attempts (one fewer than attempts)."""
    return [nominal_delay(attempt, base=base, cap=cap) for attempt in range(1, max_attempts)]


def describe_error(error: BaseException) -> str:
    """``Type: message`` (at most a quarter of the room), then the frames that fit, innermost last.

    The innermost frames (where the handler raised) matter most, so a long traceback loses its
    start, not its end. The message often quotes the payload: what Postgres' text cannot hold
    (NUL, a lone surrogate) is escaped, or the outcome could not be written at all.
    """
    summary = storable(f"{type(error).__qualname__}: {_message(error)}", MAX_ERROR_CHARS // 4)
    room = MAX_ERROR_CHARS - len(summary) - len(_TRACE_HEADER) - len(_TRIMMED)
    frames = traceback.format_tb(error.__traceback__)
    kept: list[str] = []
    for frame in reversed(frames):
        room -= len(frame)
        if room < 0:
            break
        kept.append(frame)
    trimmed = _TRIMMED if len(kept) < len(frames) else ""
    return f"{summary}{_TRACE_HEADER}{trimmed}{''.join(reversed(kept))}".rstrip()


def _message(error: BaseException) -> str:
    """``str(error)``, or what went wrong making it: a handler's exception class may be broken too."""
    try:
        return str(error)
    except Exception as exc:  # whatever __str__ raises, the outcome is recorded
        return f"(its message could not be made: {type(exc).__qualname__})"


_TRACE_HEADER = "\nTraceback (most recent call last):\n"
_TRIMMED = "  …\n"
