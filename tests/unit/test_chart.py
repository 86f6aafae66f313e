"""The overview's chart: 24 hourly bars, empty hours included, scaled to the busiest hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from webhook_server.dashboard import chart

NOW = datetime(2026, 12, 1, 9, 41, tzinfo=UTC)


def test_every_hour_of_the_last_day_has_a_bar_and_the_busiest_fills_the_height() -> None:
    this_hour = NOW.replace(minute=0)
    drawn = chart.hourly([(this_hour - timedelta(hours=5), 40, 10), (this_hour, 10, 0)], now=NOW)
    assert len(drawn.bars) == chart.HOURS
    assert drawn.bars[0].hour == this_hour - timedelta(hours=23) and drawn.bars[-1].hour == this_hour
    busiest = drawn.bars[-6]
    assert (busiest.events, busiest.failures) == (40, 10)
    assert busiest.height == chart.HEIGHT and busiest.failed_height == chart.HEIGHT / 4
    assert drawn.bars[-1].height == chart.HEIGHT / 4
    assert [bar.events for bar in drawn.bars].count(0) == 22
    assert (drawn.total, drawn.failures, drawn.peak) == (50, 10, 40)
    assert busiest.label == "04:00 UTC: 40 events, 10 failed or dead"
    assert all(bar.x + bar.width <= chart.WIDTH for bar in drawn.bars)


def test_an_empty_day_draws_no_bar_and_divides_by_nothing() -> None:
    drawn = chart.hourly([], now=NOW)
    assert drawn.peak == 0 and all(bar.height == 0 for bar in drawn.bars)
