"""A real ``webhook-server dashboard`` (gunicorn) on a free port, and a signed-in HTTP session to it:
for the tests and the page benchmark."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import requests

from tests.harness.gunicorn import kill_group, start_logged, wait_until_healthy
from webhook_server.dev.localdb import free_port

DASHBOARD_PASSWORD = "correct horse battery staple"
_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The hidden csrf_token of the first form in a page."""
    match = _CSRF_INPUT.search(html)
    if match is None:
        raise AssertionError(f"no csrf_token in the page:\n{html[:2000]}")
    return match[1]


class DashboardServer:
    """``webhook-server dashboard`` in its own session; killed with its group when done."""

    def __init__(self, database_url: str, log_path: Path, **env: str) -> None:
        self.port = free_port()
        self.log_path = log_path
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "WEBHOOK_DASHBOARD_BIND": f"127.0.0.1:{self.port}",
            "WEBHOOK_DASHBOARD_PASSWORD": DASHBOARD_PASSWORD,
            "WEBHOOK_DASHBOARD_STATE_DIR": str(log_path.with_name(f"{log_path.stem}-state")),
            **env,
        }
        self.process = start_logged(
            [str(Path(sys.executable).parent / "webhook-server"), "dashboard"], log_path, env=environment
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_until_ready(self) -> None:
        wait_until_healthy(self.url("/login"), self.log_path, self.process)

    def sign_in(self, password: str = DASHBOARD_PASSWORD) -> requests.Session:
        """A session through the login form, as a browser signs in; raises unless it worked."""
        session = requests.Session()
        token = csrf_token(session.get(self.url("/login"), timeout=10).text)
        answer = session.post(
            self.url("/login"), data={"csrf_token": token, "password": password}, allow_redirects=False, timeout=10
        )
        if answer.status_code != 302:
            raise AssertionError(f"sign-in answered {answer.status_code}")
        return session

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        kill_group(self.process)
