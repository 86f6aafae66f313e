"""Real ``webhook-server forward`` processes against the tests' Postgres and a local destination app."""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import REPO_ROOT
from tests.forwarder.destination_app import DestinationApp
from tests.harness.gunicorn import kill_group, start_logged
from tests.harness.polling import wait_for

READY_TIMEOUT_SECONDS = 30
SCRIPT = Path(sys.executable).parent / "webhook-server"
SECRET_VARIABLE = "TEST_FORWARD_SECRET"
TEST_ENV = {"WEBHOOK_FORWARD_POLL": "0.2", "WEBHOOK_DB_TIMEOUT": "0.5"}


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class ForwarderProcess:
    """One ``webhook-server forward`` in its own session, its log in a file."""

    def __init__(self, database_url: str, destinations: Path, secret: str, log_path: Path, **env: str) -> None:
        self.log_path = log_path
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "WEBHOOK_DESTINATIONS_FILE": str(destinations),
            SECRET_VARIABLE: secret,
            "PYTHONPATH": str(REPO_ROOT),
            **TEST_ENV,
            **env,
        }
        self.process = start_logged([str(SCRIPT), "forward"], log_path, env=environment, cwd=REPO_ROOT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        def listening() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"forward exited with {self.process.returncode}:\n{self.log()[-5000:]}")
            return "listening for new events" in self.log()

        wait_for(listening, READY_TIMEOUT_SECONDS, lambda: f"forwarder listening:\n{self.log()[-5000:]}")

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        kill_group(self.process)


@pytest.fixture
def forward_db(clean_db: str) -> Iterator[str]:
    """The tests' database with no destination registered before or after the test."""
    forget_destinations(clean_db)
    yield clean_db
    forget_destinations(clean_db)


def forget_destinations(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE webhook_destinations, webhook_deliveries, webhook_delivery_attempts, webhook_forward_queue"
        )


@pytest.fixture
def secret() -> str:
    return new_secret()


@pytest.fixture
def app(secret: str) -> Iterator[DestinationApp]:
    destination = DestinationApp(secret)
    yield destination
    destination.close()


@pytest.fixture
def start_forwarder(forward_db: str, tmp_path: Path, secret: str) -> Iterator[Callable[..., ForwarderProcess]]:
    """Start a forwarder on a destinations file (TOML text) and wait until it listens; killed afterwards."""
    started: list[ForwarderProcess] = []

    def start(destinations: str, *, wait: bool = True, **env: str) -> ForwarderProcess:
        path = tmp_path / f"destinations-{len(started)}.toml"
        path.write_text(destinations)
        forwarder = ForwarderProcess(forward_db, path, secret, tmp_path / f"forward-{len(started)}.log", **env)
        started.append(forwarder)
        if wait:
            forwarder.wait_ready()
            wait_for(lambda: registered(forward_db), 10, "destinations registered")
        return forwarder

    yield start
    for forwarder in started:
        forwarder.kill()


def registered(database_url: str) -> int:
    return query(database_url, "SELECT count(*) FROM webhook_destinations")[0][0]


def destination(name: str, url: str, **settings: Any) -> str:
    """One [destinations.<name>] table of TOML."""
    lines = [f"[destinations.{name}]", f"url = {json.dumps(url)}", f'secret_env = "{SECRET_VARIABLE}"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def store_events(
    database_url: str,
    count: int,
    *,
    prefix: str = "evt",
    endpoint: str = "stripe",
    event_type: str = "invoice.paid",
    headers: dict[str, str] | None = None,
    body: Callable[[str], bytes] | None = None,
) -> dict[str, float]:
    """Store ``count`` events in one statement, as ingest does; return each id's commit time (monotonic)."""
    ids = [f"{prefix}_{number:05d}" for number in range(count)]
    bodies = [(body or _body)(event_id) for event_id in ids]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO webhook_events (provider, endpoint, event_id, event_type, body, payload, headers) "
            "SELECT %s, %s, id, %s, b, NULL, %s::jsonb FROM unnest(%s::text[], %s::bytea[]) AS t (id, b)",
            (endpoint, endpoint, event_type, json.dumps(headers or {}), ids, bodies),
        )
        committed = time.monotonic()
    return dict.fromkeys(ids, committed)


def _body(event_id: str) -> bytes:
    return json.dumps(
        {"id": event_id, "type": "invoice.paid", "data": {"amount": 1250}}, separators=(",", ":")
    ).encode()


def query(database_url: str, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall()


def deliveries(database_url: str, name: str, status: str) -> int:
    return query(
        database_url, "SELECT count(*) FROM webhook_deliveries WHERE destination = %s AND status = %s", name, status
    )[0][0]


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        env={**os.environ, "DATABASE_URL": database_url},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
