"""Two real gunicorns from the same code for the differential suite: the main loop on, and off.

Each has a database of its own in the session's Postgres (a second and a third database in the
same cluster: cheaper than another server, and no row of one can be mistaken for the other's),
one worker (one main loop, one poller: the same stream is read the same way each time), and
the same secrets. Booting them costs more than a hundred cases, so the package shares them.
After every test, neither log may show a worker that died or was booted again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from tests.conftest import gunicorn_servers
from tests.differential.wire import WORKER_EXIT, Differential, Side
from tests.harness.gunicorn import GunicornServer
from webhook_server.migrations import migrate

DATABASES = {"on": "differential_main_loop", "off": "differential_reference"}
SERVER_ENV = {
    "WEBHOOK_WORKERS": "1",
    "WEBHOOK_THREADS": "4",
    # The least allowed: a request that stalls is cut off within a second, on both sides alike.
    "WEBHOOK_READ_TIMEOUT": "1",
    # werkzeug lists a 405's Allow methods from a set: the same hash seed, the same order.
    "PYTHONHASHSEED": "0",
}
BOOTED = re.compile(rb"Booting worker with pid")


def database_named(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def fresh_databases(database_url: str, suffix: str = "") -> dict[str, str]:
    """A fresh, migrated database for each server ("on", "off"), in the session's Postgres."""
    urls = {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        for main_loop, name in DATABASES.items():
            name += suffix
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            urls[main_loop] = database_named(database_url, name)
    for url in urls.values():
        migrate(url)
    return urls


@contextmanager
def server_pair(database_url: str, directory: Path, suffix: str = "", **env: str) -> Iterator[Differential]:
    """The main-loop server and the reference, each on a fresh database of its own (named with
    ``suffix``), with SERVER_ENV and ``env``; both killed at the end."""
    with ExitStack() as stack:
        sides = {}
        for main_loop, url in fresh_databases(database_url, suffix).items():
            logs = directory / f"main-loop-{main_loop}{suffix}"
            logs.mkdir()
            start = stack.enter_context(gunicorn_servers(url, logs))
            sides[main_loop] = Side(start(**SERVER_ENV, **env, WEBHOOK_MAIN_LOOP=main_loop), url)
        pair = Differential(sides["on"], sides["off"])
        stack.callback(pair.close)
        yield pair


@pytest.fixture(scope="package")
def differential(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Differential]:
    with server_pair(database_url, tmp_path_factory.mktemp("differential")) as pair:
        yield pair


def worker_trouble(server: GunicornServer, since: int) -> list[str]:
    """Lines of the server's log after byte ``since`` saying a worker died or another one booted."""
    log = server.log_path.read_bytes()[since:]
    lines = [line for line in log.splitlines() if WORKER_EXIT.search(line) or BOOTED.search(line)]
    return [line.decode(errors="replace")[:300] for line in lines]


@pytest.fixture(autouse=True)
def no_worker_exits(differential: Differential) -> Iterator[None]:
    """After each test (a batch of cases): no worker died, and none was booted to replace one."""
    offsets = [side.server.log_offset() for side in differential]
    yield
    for side, since in zip(differential, offsets, strict=True):
        assert worker_trouble(side.server, since) == []
