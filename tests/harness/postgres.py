"""The test suite's throwaway Postgres settings: never shipped, since a crash loses the data."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

# For a server whose data is thrown away after the run: commits skip the disk. Never for a
# benchmark (it must measure the real cost) nor for what `webhook-server check` must find durable.
NOT_DURABLE = ("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")


def make_day(conn: psycopg.Connection, when: datetime) -> None:
    """Give the UTC day of ``when`` its partition, for a test that back-dates an event (real events
    arrive now, into days the worker made ahead; an older day without one refuses the row)."""
    day = when.astimezone(UTC).date()
    conn.execute("SELECT webhook_ensure_partitions(%s, %s)", (day, day))
