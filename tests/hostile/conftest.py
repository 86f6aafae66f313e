"""One real gunicorn for the whole hostile suite, and the ledger every test writes to.

Booting gunicorn per case would cost more than the cases, so the package shares one server
with every scheme configured. The ledger knows each valid event sent; after every test the
table must hold only those (no bad request stored anything) and a fresh valid delivery must
still be answered 200. A canary thread delivers valid events during the whole suite.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from tests.harness.gunicorn import GunicornServer
from tests.hostile.schemes import SCHEMES, Scheme, valid_delivery
from tests.hostile.wire import Answer, exchange, request_bytes
from tests.hostile.workers import worker_pids

# Short, so the slow-client tests wait seconds, not the production default of 10.
READ_TIMEOUT_SECONDS = 2
# Small, so oversized bodies are cheap to send; production's is 1 MiB.
MAX_BODY_BYTES = 64 * 1024
CANARY_INTERVAL_SECONDS = 0.25
WORKERS = 2
REJECTION_STATUSES = set(range(400, 500)) - {404, 405}


@dataclass
class Target:
    """The server under attack, and what was sent to it."""

    server: GunicornServer
    database_url: str
    workers: set[int]  # their pids at the start: any change means one died
    valid_ids: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    # (scheme, reason) of every refusal the app answered, to compare with /metrics.
    rejections: Counter[tuple[str, str]] = field(default_factory=Counter)
    bad_requests: int = 0
    canary: list[tuple[int | None, float]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        return self.server.port

    def send_bad(self, data: bytes, scheme: str | None, *, end_stream: bool = True) -> Answer:
        """Send one bad request; count it, and the refusal if the app answered it for ``scheme``."""
        answer = exchange(self.port, data, end_stream=end_stream)
        self.record_bad(answer, scheme)
        return answer

    def record_bad(self, answer: Answer, scheme: str | None) -> None:
        with self._lock:
            self.bad_requests += 1
            # 404 and 405 never reach a scheme: webhook_http_requests_total counts them by route.
            if scheme and answer.from_app and answer.status in REJECTION_STATUSES:
                self.rejections[(scheme, answer.error or "")] += 1

    def deliver_valid(self, scheme: Scheme) -> Answer:
        event_id, body, headers = valid_delivery(scheme)
        return self.deliver(scheme, event_id, request_bytes(f"/webhooks/{scheme.name}", headers, body))

    def deliver(self, scheme: Scheme, event_id: str, data: bytes) -> Answer:
        """Send a request that may store ``event_id`` (in the ledger first: it may be stored at once)."""
        with self._lock:
            self.valid_ids.add(event_id)
        answer = exchange(self.port, data)
        if answer.status == 200:
            with self._lock:
                self.acknowledged.add(event_id)
        return answer

    def stored_ids(self) -> set[str]:
        with psycopg.connect(self.database_url) as conn:
            return {row[0] for row in conn.execute("SELECT event_id FROM webhook_events")}

    def log(self) -> str:
        return self.server.log_path.read_text(errors="replace")


def assert_refused(answer: Answer, *, may_close: bool = False) -> None:
    """A 4xx; or, where the request cannot be answered (``may_close``), a closed connection."""
    if answer.status is None:
        assert may_close, "the server closed the connection without an answer"
        return
    assert 400 <= answer.status < 500, f"{answer.status}: {answer.body[:300]!r}"


@pytest.fixture(scope="package")
def target(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE webhook_events")
    env = {key: value for scheme in SCHEMES for key, value in scheme.env.items()}
    directory = tmp_path_factory.mktemp("hostile")
    endpoints = directory / "endpoints.toml"
    endpoints.write_text("\n".join(scheme.endpoint for scheme in SCHEMES if scheme.endpoint))
    env["WEBHOOK_ENDPOINTS_FILE"] = str(endpoints)
    log_path = directory / "gunicorn.log"
    server = GunicornServer(
        database_url,
        log_path,
        WEBHOOK_WORKERS=str(WORKERS),
        WEBHOOK_READ_TIMEOUT=str(READ_TIMEOUT_SECONDS),
        WEBHOOK_MAX_BODY_BYTES=str(MAX_BODY_BYTES),
        # Fewer glibc arenas: the memory plateau comes sooner (test_zz_aftermath explains).
        MALLOC_ARENA_MAX="2",
        **env,
    )
    try:
        server.wait_until_healthy()
        target = Target(server, database_url, worker_pids(server.process.pid))
        stop = threading.Event()
        canary = threading.Thread(target=_run_canary, args=(target, stop), name="hostile-canary", daemon=True)
        canary.start()
        yield target
        stop.set()
        canary.join(30)
    finally:
        server.kill()


def _run_canary(target: Target, stop: threading.Event) -> None:
    """Valid deliveries all along, so 'still answering during the attack' is measured, not assumed."""
    while not stop.wait(CANARY_INTERVAL_SECONDS):
        for scheme in SCHEMES:
            started = time.monotonic()
            try:
                status = target.deliver_valid(scheme).status
            except OSError:
                status = None
            target.canary.append((status, time.monotonic() - started))


@pytest.fixture(autouse=True)
def nothing_bad_stored(target: Target) -> Iterator[None]:
    yield
    acknowledged = set(target.acknowledged)  # before the read: each of these was committed by then
    stored = target.stored_ids()
    assert stored <= target.valid_ids, f"stored from bad requests: {sorted(stored - target.valid_ids)[:5]}"
    assert acknowledged <= stored
    for scheme in SCHEMES:
        answer = target.deliver_valid(scheme)
        assert answer.status == 200, f"a valid {scheme.name} delivery after the test: {answer}"


@pytest.fixture
def stock_gthread(database_url: str, tmp_path: Path) -> Iterator[GunicornServer]:
    """gunicorn's own gthread worker (``-k gthread`` on the command line overrides the config),
    1 x 2 threads, with the first scheme configured; it stores into the suite's table."""
    server = GunicornServer(
        database_url,
        tmp_path / "stock.log",
        gunicorn_args=("-k", "gthread"),
        WEBHOOK_WORKERS="1",
        WEBHOOK_THREADS="2",
        **SCHEMES[0].env,
    )
    try:
        server.wait_until_healthy()
        yield server
    finally:
        server.kill()
