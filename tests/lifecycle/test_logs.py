"""Every line a running server writes is one JSON object, the libraries' lines included."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from webhook_server.dev.localdb import free_port
from webhook_server.harness.gunicorn import GunicornServer

DEADLINE_SECONDS = 20.0


def test_psycopg_pool_warnings_are_json_lines_too(start_server: Callable[..., GunicornServer]) -> None:
    # No Postgres on this port: the pool's background reconnects log warnings while deliveries get 503s.
    server = start_server(DATABASE_URL=f"postgresql://nobody:pw@127.0.0.1:{free_port()}/none", WEBHOOK_DB_TIMEOUT="0.5")
    assert server.deliver().status_code == 503

    def entries() -> list[dict]:
        lines = [line for line in server.log_path.read_text(errors="replace").splitlines() if line.strip()]
        return [json.loads(line) for line in lines]  # fails on any line that is not JSON

    deadline = time.monotonic() + DEADLINE_SECONDS
    while not any(entry["logger"].startswith("psycopg") for entry in entries()):
        assert time.monotonic() < deadline, f"no psycopg_pool line within {DEADLINE_SECONDS} s:\n{server.log()}"
        server.deliver()
        time.sleep(0.2)
    assert {"webhook_server.errors_http", "gunicorn.access"} <= {entry["logger"] for entry in entries()}
