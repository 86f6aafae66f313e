"""What the benchmarks share: CPU seconds of process trees and of the whole machine (from /proc),
the check that Postgres is durable, and a log's tail for error messages.

Everything runs on the same cores, so each benchmark reports its parts' CPU per request or
event, and how busy the rest of the machine was: another process competing for the cores makes
every number worse.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from webhook_server import db
from webhook_server.dev.localdb import LocalPostgresError

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Latency:
    """Commit → arrival (a handler's start, a destination's receipt) of events stored one by one at a rate."""

    events: int
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    other_load: float


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


def run_in_workdir(
    name: str,
    benchmark: Callable[[Path], int],
    *,
    needs_wrk: bool = False,
    setup_errors: tuple[type[Exception], ...] = (),
) -> int:
    """Run ``benchmark`` in a fresh temporary directory; its failures become one line and an exit code.

    1: a result failed its check (BenchError); 2: the setup failed (Postgres, wrk missing, or one
    of ``setup_errors``); 130: Ctrl-C or SIGTERM, which both unwind the same way, so every process
    the benchmark started is stopped before the directory goes.
    """
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    if needs_wrk and shutil.which("wrk") is None:
        _say(name, "wrk is not installed: apt-get install wrk")
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix=f"{name}-bench-") as workdir:
            return benchmark(Path(workdir))
    except BenchError as exc:
        _say(name, f"FAILED: {exc}")
        return 1
    except (LocalPostgresError, psycopg.Error, *setup_errors) as exc:
        _say(name, f"failed: {exc}")
        return 2
    except KeyboardInterrupt:
        _say(name, "interrupted")
        return 130


def _say(name: str, message: str) -> None:
    print(f"[{name}] {message}", file=sys.stderr, flush=True)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
