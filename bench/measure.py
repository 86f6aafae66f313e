"""What the benchmarks share: CPU seconds of process trees and of the whole machine (from /proc),
the check that Postgres is durable, and a log's tail for error messages.

Everything runs on the same cores, so each benchmark reports its parts' CPU per request or
event, and how busy the rest of the machine was: another process competing for the cores makes
every number worse.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from webhook_server import db

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """Something the benchmark needs did not start or did not finish; the message says what."""


def machine_busy_seconds() -> float:
    """All cores' busy time: user, nice, system, irq, softirq and steal from /proc/stat."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def tree_cpu_seconds(roots: Iterable[int]) -> float:
    """CPU seconds (user + system) of the processes ``roots`` and all their descendants."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    pending, ticks = list(roots), 0
    while pending:
        pid = pending.pop()
        ticks += table.get(pid, (0, 0))[1]
        pending.extend(children.get(pid, []))
    return ticks / CLOCK_TICKS


def _process_table() -> dict[int, tuple[int, int]]:
    """Every process's parent pid and CPU time (user + system) in clock ticks."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
        table[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def durable_postgres_settings(url: str) -> dict[str, str]:
    """The server's version and durability settings; anything but durable would flatter the results."""
    with db.connect(url) as conn:
        found = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("server_version", "fsync", "synchronous_commit")
        }
    if found["fsync"] != "on" or found["synchronous_commit"] != "on":
        raise BenchError(
            f"Postgres is not durable: fsync={found['fsync']}, synchronous_commit={found['synchronous_commit']}"
        )
    return found


def tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"
