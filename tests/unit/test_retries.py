from __future__ import annotations

import pytest

from webhook_server.settings import WorkerSettings
from webhook_server.worker.retries import JITTER, MAX_ERROR_CHARS, describe_error, retry_delay, schedule


def test_the_default_schedule_retries_for_about_a_day() -> None:
    defaults = WorkerSettings(database_url="postgresql://db/webhooks", handler_modules=("handlers",))
    waits = schedule(defaults.max_attempts, base=defaults.retry_base, cap=defaults.retry_cap)
    assert len(waits) == 9
    assert waits[:3] == [180, 360, 720]
    assert waits[-1] == 12 * 3600  # capped
    assert 22 * 3600 < sum(waits) < 26 * 3600


@pytest.mark.parametrize("attempt", [1, 2, 5, 30, 10_000])
def test_jitter_spreads_each_wait_and_never_passes_the_cap(attempt: int) -> None:
    delays = [retry_delay(attempt, base=1.0, cap=60.0) for _ in range(200)]
    nominal = min(60.0, 2.0 ** min(attempt - 1, 64))
    assert all(nominal * (1 - JITTER) <= delay <= min(60.0, nominal * (1 + JITTER)) for delay in delays)
    assert len(set(delays)) > 50


def raise_deep(depth: int, message: str) -> None:
    if depth:
        bounce(depth - 1, message)
    raise ValueError(message)


def bounce(depth: int, message: str) -> None:
    raise_deep(depth, message)  # two functions in turn: Python does not collapse these frames


def test_last_error_keeps_the_message_and_the_innermost_frames() -> None:
    try:
        raise_deep(100, "card declined")
    except ValueError as exc:
        text = describe_error(exc)
    assert len(text) <= MAX_ERROR_CHARS
    assert text.startswith("ValueError: card declined\nTraceback (most recent call last):\n  …\n")
    assert text.endswith("raise ValueError(message)\n    ^^^^^^^^^^^^^^^^^^^^^^^^^") or text.endswith(
        "raise ValueError(message)"
    )


def test_a_huge_message_leaves_room_for_the_frames() -> None:
    try:
        raise_deep(0, "x" * 100_000)
    except ValueError as exc:
        text = describe_error(exc)
    assert len(text) <= MAX_ERROR_CHARS
    assert text.startswith("ValueError: xxx") and "…\nTraceback" in text
    assert "raise ValueError(message)" in text


def test_an_error_quoting_nul_or_a_lone_surrogate_is_escaped_for_postgres() -> None:
    try:
        raise RuntimeError("could not open a ticket for \ud800 and nul \x00" + "\ud800" * MAX_ERROR_CHARS)
    except RuntimeError as exc:
        text = describe_error(exc)
    summary = text.splitlines()[0]
    assert summary.startswith("RuntimeError: could not open a ticket for \\ud800 and nul \\x00\\ud800")
    assert len(summary) == MAX_ERROR_CHARS // 4 and summary.endswith("…")
    text.encode("utf-8")  # what psycopg does with it: it raised UnicodeEncodeError
    assert "\x00" not in text


def test_an_exception_whose_message_cannot_be_made_still_has_an_error() -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise ValueError("no")

    try:
        raise Broken
    except Broken as exc:
        text = describe_error(exc)
    assert text.startswith("test_an_exception_whose_message_cannot_be_made_still_has_an_error.<locals>.Broken: ")
    assert "(its message could not be made: ValueError)" in text.splitlines()[0]
