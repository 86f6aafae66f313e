"""What systemd does for a .socket unit, for tests on machines without systemd.

The launcher binds the listening socket once and keeps it; each gunicorn it starts inherits it
as fd 3 with ``LISTEN_FDS=1`` and ``LISTEN_PID`` set to gunicorn's own pid. ``restart`` stops the
process and starts the next one, as ``systemctl restart`` does, while the socket stays open: a
connection that arrives in between waits in the kernel's queue.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.harness.gunicorn import STRIPE_SECRET, kill_group, start_logged, wait_until_healthy
from webhook_server.dev.localdb import free_port
from webhook_server.web.entrypoint import gunicorn_command

# As in deploy/systemd/webhook-server.socket.
BACKLOG = 2048
# Above WEBHOOK_SHUTDOWN_CAP, as TimeoutStopSec in the unit.
STOP_TIMEOUT_SECONDS = 15
# Runs in the child: move the inherited socket to fd 3, name our own pid (kept by exec) in
# LISTEN_PID, then exec gunicorn, as systemd does between fork and exec.
_EXEC_WITH_SOCKET = """
import os, sys
fd = int(os.environ.pop("LAUNCHER_FD"))
if fd != 3:
    os.dup2(fd, 3)
    os.close(fd)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
os.execv(sys.argv[1], sys.argv[1:])
"""


class SocketLauncher:
    def __init__(self, port: int, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.port = port
        self.command = command
        self.env = env
        self.log_path = log_path
        self.socket = socket.create_server(("127.0.0.1", port), backlog=BACKLOG)
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def for_app(cls, database_url: str, log_path: Path) -> SocketLauncher:
        """The production entrypoint on a free port, with what the app needs from the environment."""
        env = {**os.environ, "DATABASE_URL": database_url, "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET}
        return cls(free_port(), gunicorn_command(), env, log_path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_until_healthy(self) -> None:
        wait_until_healthy(self.url("/health"), self.log_path, self.process)

    def start(self) -> None:
        fd = self.socket.fileno()
        self.process = start_logged(
            [sys.executable, "-c", _EXEC_WITH_SOCKET, *self.command],
            self.log_path,
            env={**self.env, "LAUNCHER_FD": str(fd)},
            pass_fds=(fd,),
        )

    def stop(self) -> int:
        """SIGTERM to the master only (KillMode=mixed), SIGKILL to the group after the timeout."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            kill_group(self.process)
            return self.process.returncode

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill(self) -> None:
        if self.process is not None:
            kill_group(self.process)

    def close(self) -> None:
        self.kill()
        self.socket.close()
