"""``/ready`` through the app's own pool: what a deploy asks before putting an instance back, and
the proof that the server's sessions commit with synchronous_commit=on whatever the role says."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
import requests
from flask import Flask

from tests.conftest import STRIPE_SECRET
from tests.harness.gunicorn import GunicornServer
from webhook_server.dev.localdb import free_port
from webhook_server.settings import Settings


@pytest.fixture
def synchronous_commit_off_for_the_role(clean_db: str) -> Iterator[str]:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("ALTER ROLE CURRENT_USER SET synchronous_commit = off")
    try:
        yield clean_db
    finally:
        with psycopg.connect(clean_db, autocommit=True) as conn:
            conn.execute("ALTER ROLE CURRENT_USER RESET synchronous_commit")


def test_the_servers_sessions_commit_synchronously_whatever_the_role_says(
    make_app: Callable[[Settings], Flask], synchronous_commit_off_for_the_role: str
) -> None:
    url = synchronous_commit_off_for_the_role
    with psycopg.connect(url) as conn:
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)  # what a session gets by default
    client = make_app(Settings(database_url=url, stripe_secrets=(STRIPE_SECRET,))).test_client()
    response = client.get("/ready")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ready", "problems": [], "synchronous_commit": "on", "fsync": "off"}


def test_a_wrong_database_url_is_not_ready_within_the_timeout(
    make_app: Callable[[Settings], Flask], caplog: pytest.LogCaptureFixture
) -> None:
    nobody = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    client = make_app(Settings(database_url=nobody, stripe_secrets=(STRIPE_SECRET,), db_timeout=0.5)).test_client()
    started = time.monotonic()
    response = client.get("/ready")
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.get_json()["error"] == "database_unavailable"  # the cause goes to the log only
    assert any("DATABASE_URL right?" in record.getMessage() for record in caplog.records)
    assert client.get("/health").status_code == 200  # the balancer's check never asks the database


def test_an_unmigrated_database_is_not_ready(make_app: Callable[[Settings], Flask], database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS ready_unmigrated")
        conn.execute("CREATE DATABASE ready_unmigrated")
    unmigrated = database_url.rsplit("/", 1)[0] + "/ready_unmigrated"
    response = make_app(Settings(database_url=unmigrated, stripe_secrets=(STRIPE_SECRET,))).test_client().get("/ready")
    assert response.status_code == 503
    (problem,) = response.get_json()["problems"]
    assert problem.startswith("the database lacks migrations 0001_webhook_events")


def test_the_same_holds_in_a_real_gunicorn_worker(
    start_server: Callable[..., GunicornServer], synchronous_commit_off_for_the_role: str
) -> None:
    """The pool of a forked gunicorn worker, opened after fork, with the role's default off."""
    server = start_server()
    response = requests.get(server.url("/ready"), timeout=10)
    assert (response.status_code, response.json()["synchronous_commit"]) == (200, "on")
