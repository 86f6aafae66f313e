"""Every line a running server writes is one JSON object, the libraries' lines included."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.harness.dashboard import DashboardServer
from tests.harness.gunicorn import GunicornServer
from tests.harness.polling import wait_for
from webhook_server.dev.localdb import free_port

DEADLINE_SECONDS = 20.0


def entries(log_path: Path) -> list[dict]:
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # fails on any line that is not JSON


def nowhere() -> str:
    """A database URL nothing listens at."""
    return f"postgresql://nobody:pw@127.0.0.1:{free_port()}/none"


def test_with_the_database_down_every_line_of_the_server_is_json(start_server: Callable[..., GunicornServer]) -> None:
    server = start_server(DATABASE_URL=nowhere(), WEBHOOK_DB_TIMEOUT="0.5")
    for _ in range(3):
        assert server.deliver().status_code == 503
    loggers = {entry["logger"] for entry in entries(server.log_path)}
    assert {"webhook_server.web.errors", "gunicorn.access", "gunicorn.error"} <= loggers


def test_psycopg_pool_warnings_are_json_lines_too(tmp_path: Path) -> None:
    # The dashboard reads through a psycopg_pool pool: with no Postgres, its background reconnects warn.
    dashboard = DashboardServer(nowhere(), tmp_path / "dashboard.log")
    try:
        dashboard.wait_until_ready()
        wait_for(
            lambda: any(entry["logger"].startswith("psycopg") for entry in entries(dashboard.log_path)),
            DEADLINE_SECONDS,
            lambda: f"no psycopg_pool line:\n{dashboard.log()}",
        )
    finally:
        dashboard.kill()
    assert all(isinstance(entry, dict) for entry in entries(dashboard.log_path))
