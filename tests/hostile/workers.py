"""The gunicorn workers of a master, from /proc: who they are and how much memory they hold."""

from __future__ import annotations

import re
from pathlib import Path


def worker_pids(master_pid: int) -> set[int]:
    """The master's children (its workers)."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return {int(pid) for pid in children}


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match.group(1))
