"""A real gunicorn, started by the production entrypoint on a free port: for the tests, the proof
scripts and the benchmarks."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import requests

from tests.harness.polling import wait_for
from webhook_server.dev.localdb import free_port
from webhook_server.dev.samples import signed_stripe_request, stripe_event
from webhook_server.web.entrypoint import gunicorn_command

BOOT_TIMEOUT_SECONDS = 30
STRIPE_SECRET = "whsec_test_0123456789abcdef"
READY_LINE = re.compile(rb"worker (\d+) ready")


def start_logged(
    command: Sequence[str],
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    pass_fds: Sequence[int] = (),
) -> subprocess.Popen[bytes]:
    """Start ``command`` with its output appended to ``log_path``, in a session of its own: a
    Ctrl-C meant for the caller does not reach it, and ``kill_group`` ends it with its children."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(command),
            env=None if env is None else dict(env),
            cwd=cwd,
            pass_fds=tuple(pass_fds),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the process and its group: after USR2 a new master outlives the one we started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def wait_until_healthy(
    health_url: str,
    log_path: Path,
    process: subprocess.Popen[bytes] | None = None,
    timeout: float = BOOT_TIMEOUT_SECONDS,
) -> None:
    """Poll /health until 200; fail with the server's log if it takes too long or ``process`` exits."""

    def healthy() -> bool:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}:\n{log_path.read_text()[-5000:]}")
        try:
            return requests.get(health_url, timeout=1).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            return False  # refused, or queued on a socket nobody accepts from yet

    wait_for(healthy, timeout, lambda: f"gunicorn healthy:\n{log_path.read_text()[-5000:]}")


class GunicornServer:
    """One gunicorn master with its workers; stopped with SIGKILL to its group if a test leaves it."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        port: int | None = None,
        gunicorn_args: tuple[str, ...] = (),
        **env: str,
    ) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self._log_start = log_path.stat().st_size if log_path.exists() else 0
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
            "WEBHOOK_BIND": f"127.0.0.1:{self.port}",
            "WEBHOOK_WORKERS": "2",
            "WEBHOOK_THREADS": "4",
            "PROMETHEUS_MULTIPROC_DIR": str(log_path.with_suffix(".metrics")),
            **env,
        }
        self.workers = int(environment["WEBHOOK_WORKERS"])
        self.process = start_logged(gunicorn_command(*gunicorn_args), log_path, env=environment)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_until_healthy(self) -> None:
        """Until /health answers and every worker is ready: a stop signal the master sends to a
        worker still booting is lost (see lifecycle.worker_started), and tests that time a stop
        would measure that race instead of the stop."""
        wait_until_healthy(self.url("/health"), self.log_path, self.process)
        self.wait_ready_lines(self.workers, since=self._log_start)

    def log_offset(self) -> int:
        """Where the log ends now: pass it to ``wait_ready_lines`` to see only what comes later."""
        return self.log_path.stat().st_size

    def wait_ready_lines(self, count: int, since: int) -> list[int]:
        """Wait until ``count`` workers logged "worker N ready" after log byte ``since``; their pids.

        The line comes from ``post_worker_init``: the worker has its app, its database pool and
        its signal handlers, which "Booting worker" (logged right after the fork) does not mean.
        """

        def ready_pids() -> list[int]:
            pids = [int(pid) for pid in READY_LINE.findall(self.log_path.read_bytes()[since:])]
            return pids if len(pids) >= count else []

        return wait_for(ready_pids, BOOT_TIMEOUT_SECONDS, lambda: f"{count} workers ready:\n{self.log()}")

    def worker_pids(self) -> set[int]:
        """The master's live children, read from /proc (a worker that exited but is not reaped yet
        is a zombie and left out)."""
        pids = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone meanwhile
            if fields[0] != "Z" and int(fields[1]) == self.process.pid:
                pids.add(int(stat.parent.name))
        return pids

    def send_signal(self, signum: int) -> float:
        """Signal the master; return the monotonic time it was sent."""
        sent = time.monotonic()
        self.process.send_signal(signum)
        return sent

    def wait_exit(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def deliver(self, event: dict | None = None, **kwargs) -> requests.Response:
        body, headers = signed_stripe_request(event or stripe_event(), STRIPE_SECRET)
        return requests.post(self.url("/webhooks/stripe"), data=body, headers=headers, timeout=10, **kwargs)

    def delivery_bytes(self, event: dict) -> bytes:
        """A signed delivery of ``event`` as it goes on the wire."""
        body, headers = signed_stripe_request(event, STRIPE_SECRET)
        head = (
            f"POST /webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            + "\r\n"
        ).encode()
        return head + body

    def open_partial_request(self, event: dict, sent_fraction: float = 0.5) -> tuple[socket.socket, bytes]:
        """Send the headers and part of a signed delivery; return the socket and the unsent rest."""
        request = self.delivery_bytes(event)
        body_starts = request.index(b"\r\n\r\n") + 4
        split = body_starts + int((len(request) - body_starts) * sent_fraction)
        client = socket.create_connection(("127.0.0.1", self.port), timeout=15)
        client.sendall(request[:split])
        return client, request[split:]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        kill_group(self.process)


def read_response(client: socket.socket) -> tuple[int, bytes]:
    """Read one HTTP response until the server closes or the body is complete."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    while len(body) < length:
        chunk = client.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(head.split(b" ")[1]), body
