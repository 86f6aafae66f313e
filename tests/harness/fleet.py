"""Instances a shell command can restart, as ``systemctl restart webhook-server@PORT`` does.

Each instance's settings live in ``<dir>/<name>.json``; ``python -m tests.harness.fleet restart
DIR NAME`` SIGTERMs its gunicorn master (found by its pidfile), waits for it to exit and starts
a new one, then returns while the new one boots. Every process group ever started is recorded
so that ``Fleet.kill`` leaves nothing behind, whoever started it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from functools import partial
from pathlib import Path

from tests.harness.gunicorn import BOOT_TIMEOUT_SECONDS, STRIPE_SECRET, start_logged, wait_until_healthy
from tests.harness.polling import wait_for
from webhook_server.dev.localdb import free_port
from webhook_server.web.entrypoint import gunicorn_command

STOP_TIMEOUT_SECONDS = 15  # above WEBHOOK_SHUTDOWN_CAP, as TimeoutStopSec


class Fleet:
    def __init__(
        self,
        directory: Path,
        database_url: str,
        names: list[str],
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """``command``: how to start one instance, ``{port}`` replaced (default: the shipped entrypoint);
        ``env``: variables added to (or replacing) each instance's environment."""
        self.directory = directory
        self.names = names
        for name in names:
            port = free_port()
            state = {
                "port": port,
                "command": [part.format(port=port) for part in command or gunicorn_command()],
                "env": {
                    "DATABASE_URL": database_url,
                    "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
                    "WEBHOOK_BIND": f"127.0.0.1:{port}",
                    "WEBHOOK_WORKERS": "2",
                    "WEBHOOK_THREADS": "4",
                    "PROMETHEUS_MULTIPROC_DIR": str(directory / f"{name}.metrics"),
                    "GUNICORN_CMD_ARGS": f"--pid {directory / f'{name}.pid'}",
                    **(env or {}),
                },
            }
            (directory / f"{name}.metrics").mkdir()  # ours prepares it, a stock gunicorn would not
            (directory / f"{name}.json").write_text(json.dumps(state))
            start(directory, name)
        # The release's environment, as systemd's EnvironmentFile holds it (rolling-deploy --env-file).
        self.env_file = directory / "release.env"
        self.env_file.write_text(f"DATABASE_URL={database_url}\nSTRIPE_WEBHOOK_SECRET={STRIPE_SECRET}\n")

    def set_env(self, name: str, **env: str) -> None:
        """Change what ``name`` starts with from its next restart on."""
        state = _state(self.directory, name)
        state["env"].update(env)
        (self.directory / f"{name}.json").write_text(json.dumps(state))

    @property
    def ports(self) -> list[int]:
        return [_state(self.directory, name)["port"] for name in self.names]

    def health_url(self, name: str) -> str:
        return f"http://127.0.0.1:{_state(self.directory, name)['port']}/health"

    def wait_until_healthy(self, timeout: float = BOOT_TIMEOUT_SECONDS) -> None:
        """Until every instance has written its pidfile and answers /health (the masters are not our children)."""
        for name in self.names:
            wait_for(partial(self.pid, name), timeout, f"{name}'s pid file")
            wait_until_healthy(self.health_url(name), self.directory / f"{name}.log", timeout=timeout)

    def pid(self, name: str) -> int | None:
        pidfile = self.directory / f"{name}.pid"
        return int(pidfile.read_text()) if pidfile.exists() else None

    def restart_command(self) -> str:
        return f"{sys.executable} -m tests.harness.fleet restart {self.directory} {{name}}"

    def kill(self) -> None:
        groups = self.directory / "groups"
        for line in groups.read_text().split() if groups.exists() else []:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(line), signal.SIGKILL)


def start(directory: Path, name: str) -> None:
    state = _state(directory, name)
    env = {**os.environ, **state["env"]}
    process = start_logged(state["command"], directory / f"{name}.log", env=env)
    with open(directory / "groups", "a") as groups:
        groups.write(f"{process.pid}\n")


def restart(directory: Path, name: str) -> None:
    pid = int((directory / f"{name}.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while _alive(pid):
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)  # as systemd does after TimeoutStopSec
            break
        time.sleep(0.05)
    start(directory, name)


def _alive(pid: int) -> bool:
    """Running, not a zombie: the master's parent may be gone and nobody may reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _state(directory: Path, name: str) -> dict:
    return json.loads((directory / f"{name}.json").read_text())


if __name__ == "__main__":
    command, directory, name = sys.argv[1:4]
    assert command == "restart", f"usage: python -m tests.harness.fleet restart DIR NAME, not {command}"
    restart(Path(directory), name)
