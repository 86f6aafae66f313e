"""The one way tests and the harness wait for something: poll a condition until a deadline.

A fixed sleep stands in for a condition and passes whether or not it held; this fails, with the
message, once ``timeout`` seconds have gone by without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
POLL_INTERVAL_SECONDS = 0.05


def wait_for(condition: Callable[[], T], timeout: float, message: str | Callable[[], str]) -> T:
    """Return the first truthy value of ``condition()``; raise AssertionError after ``timeout`` s.

    ``message`` says what was awaited; pass a callable to build it at failure time (a log's tail,
    say). ``condition`` may raise AssertionError itself to fail at once (a process that exited).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"not within {timeout} s: {text}")
        time.sleep(POLL_INTERVAL_SECONDS)
