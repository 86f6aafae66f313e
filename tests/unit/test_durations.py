from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from webhook_server.durations import parse_since

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "back"),
    [
        ("45s", timedelta(seconds=45)),
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        (" 3D ", timedelta(days=3)),
        ("0m", timedelta(0)),
    ],
)
def test_durations_count_back_from_now(text: str, back: timedelta) -> None:
    assert parse_since(text, now=NOW) == NOW - back


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        ("2026-11-20T08:30:00Z", datetime(2026, 11, 20, 8, 30, tzinfo=UTC)),
        ("2026-11-20T08:30", datetime(2026, 11, 20, 8, 30, tzinfo=UTC)),  # no zone: UTC
        ("2026-11-20T10:30:00+02:00", datetime(2026, 11, 20, 8, 30, tzinfo=UTC)),
    ],
)
def test_timestamps_are_iso_8601_in_utc(text: str, moment: datetime) -> None:
    parsed = parse_since(text, now=NOW)
    assert parsed == moment
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["", "3", "d", "3 days", "-3d", "1.5h", "yesterday", "2026-13-01"])
def test_anything_else_is_refused_with_both_forms_named(text: str) -> None:
    with pytest.raises(ValueError, match=r"neither a duration .* nor an ISO 8601 timestamp"):
        parse_since(text, now=NOW)
