"""The test suite's throwaway Postgres settings: never shipped, since a crash loses the data."""

from __future__ import annotations

# For a server whose data is thrown away after the run: commits skip the disk. Never for a
# benchmark (it must measure the real cost) nor for what `webhook-server check` must find durable.
NOT_DURABLE = ("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
