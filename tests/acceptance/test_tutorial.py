"""The tutorial (docs/tutorial/first-event.md), run as a reader would: every command on the page,
in a fresh clone of this checkout, in the order the page gives them.

The page's code blocks say where they go by their title: ``terminal 1`` is the long-running
one (its last line keeps running until the next ``terminal 1`` block stops it with Ctrl-C),
``terminal 2`` commands run to completion, ``… shows`` blocks are lines that must appear in
that terminal's output (``…`` standing for any text: an id, a time), and a title ending in ``.py`` is a file the
reader writes. Only the clone's URL and the ports change: the test clones this checkout, and
gives the dev server free ports through the variables ``dev`` and ``send`` read.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.conftest import REPO_ROOT
from tests.harness.gunicorn import kill_group
from tests.harness.polling import wait_for
from webhook_server.dev.localdb import free_port

TUTORIAL = REPO_ROOT / "docs" / "tutorial" / "first-event.md"
CLONE_URL = "<repository-url>"
# The first run of scripts/dev creates the venv and installs the project (about 20 s with
# pip's cache warm); later runs start Postgres and three processes.
START_TIMEOUT_SECONDS = 300
OUTPUT_TIMEOUT_SECONDS = 30
COMMAND_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 30
_BLOCK = re.compile(r'^```\w+ title="([^"]+)"\n(.*?)^```$', re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    title: str
    text: str


def blocks() -> list[Block]:
    return [Block(title, text) for title, text in _BLOCK.findall(TUTORIAL.read_text(encoding="utf-8"))]


def test_the_tutorial_s_blocks_are_all_understood() -> None:
    """A block with a title this test does not run would be a command nobody checks."""
    titles = {block.title for block in blocks()}
    unknown = {t for t in titles if t not in {"terminal 1", "terminal 2", "terminal 1 shows", "terminal 2 shows"}}
    assert all(t.endswith(".py") for t in unknown), unknown
    assert {"terminal 1", "terminal 2", "terminal 1 shows", "terminal 2 shows"} <= titles


def test_every_command_of_the_tutorial_works_in_a_fresh_clone(tmp_path: Path) -> None:
    port, dashboard_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "DATABASE_URL", "VIRTUAL_ENV"))},
        "WEBHOOK_DEV_PORT": str(port),
        "WEBHOOK_DEV_DASHBOARD_PORT": str(dashboard_port),
        "WEBHOOK_SEND_URL": f"http://127.0.0.1:{port}/webhooks/stripe",
    }
    clone = tmp_path / "webhook-server"
    terminal_1: subprocess.Popen[bytes] | None = None
    log_1 = tmp_path / "terminal-1.log"
    seen_1 = 0  # what terminal 1 printed before the latest command that should change it
    output_2 = ""
    try:
        for block in blocks():
            text = block.text.replace(CLONE_URL, str(REPO_ROOT)).replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            if block.title == "terminal 1":
                if terminal_1 is not None:
                    _interrupt(terminal_1)
                *setup, last = text.strip().splitlines()
                script = "\n".join(["set -e", *setup, f"exec env {last}"])  # env: the line may set variables
                cwd = tmp_path if terminal_1 is None else clone
                seen_1 = len(_read(log_1))
                with log_1.open("ab") as log:
                    terminal_1 = subprocess.Popen(
                        ["bash", "-c", script], cwd=cwd, env=env, stdout=log, stderr=log, start_new_session=True
                    )
                _wait_for_text(log_1, seen_1, "webhook-server is running", terminal_1, START_TIMEOUT_SECONDS)
                # dev prints its addresses as it starts the processes; a reader reads them first.
                _wait_until_serving(port, terminal_1, log_1)
            elif block.title == "terminal 1 shows":
                assert terminal_1 is not None
                for line in text.strip().splitlines():
                    _wait_for_text(log_1, seen_1, line, terminal_1, OUTPUT_TIMEOUT_SECONDS)
            elif block.title == "terminal 2":
                seen_1 = len(_read(log_1))
                done = subprocess.run(
                    ["bash", "-c", "set -e\n" + text],
                    cwd=clone,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=COMMAND_TIMEOUT_SECONDS,
                )
                output_2 = done.stdout + done.stderr
                assert done.returncode == 0, f"{text}\nexited {done.returncode}:\n{output_2}"
            elif block.title == "terminal 2 shows":
                for line in text.strip().splitlines():
                    assert shows(line, output_2), f"{line!r} not in what terminal 2 printed:\n{output_2}"
            else:
                (clone / block.title).write_text(text, encoding="utf-8")
    finally:
        if terminal_1 is not None:
            _interrupt(terminal_1)
            kill_group(terminal_1)


def shows(line: str, output: str) -> bool:
    """Whether ``output`` has a line like ``line``, where ``…`` stands for any text (an id, a time)."""
    pattern = ".*?".join(re.escape(piece) for piece in line.split("…"))
    return re.search(pattern, output) is not None


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _wait_for_text(path: Path, start: int, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    def printed() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"terminal 1 exited with {process.returncode}:\n{_read(path)[-5000:]}")
        return shows(text, _read(path)[start:])

    wait_for(printed, timeout, lambda: f"{text!r} in terminal 1:\n{_read(path)[start:][-5000:]}")


def _wait_until_serving(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"terminal 1 exited with {process.returncode}:\n{_read(log)[-5000:]}")
        try:
            return requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(healthy, OUTPUT_TIMEOUT_SECONDS, lambda: f"dev's server on {port}:\n{_read(log)[-5000:]}")


def _interrupt(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as the reader stops it: dev stops the server, the worker, the dashboard and Postgres."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
