"""The overview's chart, as numbers for an SVG template: events per hour over 24 hours, failures among them.

Geometry is computed here so the template only places rectangles; no script draws anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HOURS = 24
WIDTH = 720
HEIGHT = 160
BAR_GAP = 4


@dataclass(frozen=True)
class Bar:
    hour: datetime
    events: int
    failures: int
    x: float
    width: float
    height: float  # of all events
    failed_height: float  # of the failed or dead among them

    @property
    def label(self) -> str:
        return f"{self.hour:%H}:00 UTC: {self.events} events, {self.failures} failed or dead"


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    peak: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def total(self) -> int:
        return sum(bar.events for bar in self.bars)

    @property
    def failures(self) -> int:
        return sum(bar.failures for bar in self.bars)


def hourly(rows: Iterable[tuple[datetime, int, int]], now: datetime | None = None) -> Chart:
    """A bar for each of the last 24 hours (the current one last), empty hours included."""
    counts = {hour.astimezone(UTC): (events, failures) for hour, events, failures in rows}
    current = (now or datetime.now(UTC)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = [current - timedelta(hours=back) for back in range(HOURS - 1, -1, -1)]
    peak = max((counts.get(hour, (0, 0))[0] for hour in hours), default=0)
    slot = WIDTH / HOURS
    bars = []
    for index, hour in enumerate(hours):
        events, failures = counts.get(hour, (0, 0))
        bars.append(
            Bar(
                hour=hour,
                events=events,
                failures=failures,
                x=index * slot + BAR_GAP / 2,
                width=slot - BAR_GAP,
                height=HEIGHT * events / peak if peak else 0,
                failed_height=HEIGHT * failures / peak if peak else 0,
            )
        )
    return Chart(bars, peak)
