"""Handlers for bench/worker.py: a no-op, and one that notes when it started for the latency run.

The latency handler appends ``<event id> <time.time()>`` lines to ``$BENCH_LATENCY_DIR/<pid>``,
one ``write`` each (O_APPEND): cheap, and nothing is buffered if the worker is stopped.
"""

from __future__ import annotations

import os
import time

from webhook_server.handlers import Event, handles

_log_fd: int | None = None


@handles("bench", "noop")
def noop(event: Event) -> None:
    pass


@handles("bench", "latency")
def note_start(event: Event) -> None:
    started = time.time()
    global _log_fd
    if _log_fd is None:
        path = os.path.join(os.environ["BENCH_LATENCY_DIR"], str(os.getpid()))
        _log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.write(_log_fd, f"{event.event_id} {started:.6f}\n".encode())
