"""``/health`` polled the way a load balancer checks it, from a process of its own.

Each check opens a new connection, sends ``GET /health HTTP/1.0`` and reads until the server
closes, as HAProxy's ``option httpchk`` does. The checks run in a separate process so that the
load a test generates in its own process (hundreds of sender threads sharing one GIL) does not
add to the latency measured: the watcher prints one line per check and the parent reads them at
the end. ``time.monotonic()`` is the system-wide CLOCK_MONOTONIC on Linux, so its timestamps
compare with the parent's.

    python -m tests.harness.health_watch EVERY_SECONDS NAME=URL...
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

# Far above any balancer's check timeout (HAProxy's shipped one is 1 s): a check that takes
# this long is recorded as taking this long, without an answer.
CHECK_TIMEOUT_SECONDS = 5.0
STOP_TIMEOUT_SECONDS = CHECK_TIMEOUT_SECONDS + 5.0


@dataclass(frozen=True)
class Check:
    """One health check: which instance, when it was sent (monotonic), how long, what status."""

    instance: str
    sent_at: float
    seconds: float
    status: int | None  # None: no answer within CHECK_TIMEOUT_SECONDS, or the connection failed


class HealthWatch:
    """Checks every named ``/health`` URL every ``every`` seconds until the block ends."""

    def __init__(self, urls: dict[str, str], every: float) -> None:
        self.urls = urls
        self.every = every
        self.checks: list[Check] = []
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> HealthWatch:
        command = [sys.executable, "-m", __name__, str(self.every), *(f"{n}={u}" for n, u in self.urls.items())]
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        output, _ = self._process.communicate(timeout=STOP_TIMEOUT_SECONDS)
        self.checks = [Check(**json.loads(line)) for line in output.splitlines()]

    def latencies(self, since: float, until: float) -> list[float]:
        """Seconds each check sent in [since, until] took; one without an answer counts its timeout."""
        return sorted(c.seconds for c in self.checks if since <= c.sent_at <= until)


def check(url: str) -> tuple[float, int | None]:
    """One check on a new connection: (seconds, status or None)."""
    parts = urlsplit(url)
    started = time.monotonic()
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=CHECK_TIMEOUT_SECONDS) as client:
            client.settimeout(max(0.001, CHECK_TIMEOUT_SECONDS - (time.monotonic() - started)))
            client.sendall(f"GET {parts.path} HTTP/1.0\r\nHost: {parts.hostname}\r\n\r\n".encode())
            answer = b""
            while chunk := client.recv(4096):
                answer += chunk
        status: int | None = int(answer.split(b" ", 2)[1])
    except (OSError, IndexError, ValueError):
        status = None
    return time.monotonic() - started, status


def _watch(name: str, url: str, every: float, stop: threading.Event, lock: threading.Lock) -> None:
    while not stop.is_set():
        sent_at = time.monotonic()
        seconds, status = check(url)
        line = json.dumps({"instance": name, "sent_at": sent_at, "seconds": seconds, "status": status})
        with lock:
            print(line, flush=True)
        stop.wait(max(0.0, every - (time.monotonic() - sent_at)))


def main(argv: list[str]) -> None:
    every, targets = float(argv[0]), dict(target.split("=", 1) for target in argv[1:])
    stop, lock = threading.Event(), threading.Lock()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = [threading.Thread(target=_watch, args=(n, u, every, stop, lock)) for n, u in targets.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main(sys.argv[1:])
