"""The gunicorn workers of a master, from /proc: who they are and how much memory they hold."""

from __future__ import annotations

import re
import time
from pathlib import Path


def worker_pids(master_pid: int) -> set[int]:
    """The master's children (its workers)."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return {int(pid) for pid in children}


def wait_for_workers(master_pid: int, count: int, timeout: float = 30) -> set[int]:
    deadline = time.monotonic() + timeout
    while len(pids := worker_pids(master_pid)) < count:
        assert time.monotonic() < deadline, f"only {len(pids)} of {count} workers after {timeout} s"
        time.sleep(0.05)
    return pids


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match.group(1))
