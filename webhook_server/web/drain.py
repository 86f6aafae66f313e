"""The draining flag: set by the master on SIGTERM, read by every worker (``/health``, ``/metrics``)."""

from __future__ import annotations

import mmap


class DrainFlag:
    """One byte in an anonymous shared page, written by the master and read by every worker.

    It must be created in the master before any fork, so workers (respawned ones included)
    map the same page; a plain attribute would be copied at fork and never change.
    """

    def __init__(self) -> None:
        self._page = mmap.mmap(-1, mmap.PAGESIZE)

    def set(self) -> None:
        self._page[0] = 1

    def clear(self) -> None:
        self._page[0] = 0

    def is_set(self) -> bool:
        return self._page[0] == 1


DRAINING = DrainFlag()
