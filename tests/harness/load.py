"""A steady stream of signed deliveries (Stripe's unless told otherwise) with a ledger of what each one got back."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
import requests

from tests.harness.gunicorn import STRIPE_SECRET
from webhook_server.dev.samples import signed_stripe_request, stripe_event

# Long enough for a delivery queued while one process stops and the next one boots.
REQUEST_TIMEOUT_SECONDS = 30

# A signed delivery: its event id, its body and its headers.
Delivery = tuple[str, bytes, dict[str, str]]


def stripe_delivery() -> Delivery:
    event = stripe_event()
    body, headers = signed_stripe_request(event, STRIPE_SECRET)
    return event["id"], body, headers


@dataclass(frozen=True)
class Answer:
    """One delivery: when it was sent (monotonic), how long its answer took, and what it said.

    ``error`` is the ``error`` field of our JSON error body: None for a 2xx, and for an answer
    that did not come from the app (a proxy's own 503 is HTML); ``status`` is None when no
    answer came at all.
    """

    sent_at: float
    seconds: float
    status: int | None
    error: str | None = None
    retry_after: str | None = None
    # A 2xx that said "spooled": the event is on the server's disk, not yet in Postgres.
    spooled: bool = False

    @property
    def answered_at(self) -> float:
        return self.sent_at + self.seconds


@dataclass
class Ledger:
    acknowledged: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # of every answer, in seconds
    answers: list[Answer] = field(default_factory=list)

    @property
    def slowest(self) -> float:
        return max(self.latencies, default=0.0)


def assert_each_acknowledged_event_stored_once(ledger: Ledger, database_url: str) -> Counter[str]:
    """No event id stored twice, none acknowledged and missing; returns the count of each stored id."""
    stored = Counter(row[1] for row in stored_rows(database_url))
    assert [event_id for event_id, count in stored.items() if count != 1] == []
    assert [event_id for event_id in ledger.acknowledged if event_id not in stored] == []
    return stored


class SignedLoad:
    """Sends deliveries to ``url`` at about ``rate`` per second from a thread, until stopped.

    Each delivery uses a new connection (``Connection: close``), as a sender opening one per
    event does: a refused or reset connection shows up as a failure instead of being retried.
    At most ``senders`` deliveries are in flight: with one, a slow answer slows the load down;
    with enough of them, the rate holds whatever the answers take, as it does for real senders.
    ``delivery`` makes each one (a Stripe event by default); an answer later than ``timeout``
    is a failure, as it is for the sender (GitHub's is 10 s).
    """

    def __init__(
        self,
        url: str,
        rate: float,
        max_seconds: float = 120,
        senders: int = 1,
        *,
        delivery: Callable[[], Delivery] = stripe_delivery,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self.interval = 1 / rate
        self.max_seconds = max_seconds
        self.senders = senders
        self.delivery = delivery
        self.timeout = timeout
        self.ledger = Ledger()
        self._stop = threading.Event()
        self._free = threading.Semaphore(senders)
        self._thread = threading.Thread(target=self._run, name="signed-load", daemon=True)

    def __enter__(self) -> SignedLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(self.timeout + 5)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with ThreadPoolExecutor(self.senders, thread_name_prefix="signed-load-sender") as pool:
            while not self._stop.is_set() and time.monotonic() < deadline:
                # A free sender or the load's end; each one in flight is bounded by its own timeout.
                if not self._free.acquire(timeout=self.timeout):
                    continue
                started = time.monotonic()
                pool.submit(self._deliver)
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def _deliver(self) -> None:
        try:
            self._send_one()
        finally:
            self._free.release()

    def _send_one(self) -> None:
        event_id, body, headers = self.delivery()
        started = time.monotonic()
        try:
            response = requests.post(
                self.url, data=body, headers={**headers, "Connection": "close"}, timeout=self.timeout
            )
        except requests.RequestException as exc:
            self.ledger.failures.append(f"{event_id}: {type(exc).__name__}: {exc}")
            self.ledger.answers.append(Answer(started, time.monotonic() - started, None))
            return
        seconds = time.monotonic() - started
        self.ledger.latencies.append(seconds)
        if 200 <= response.status_code < 300:
            self.ledger.acknowledged.append(event_id)
        else:
            self.ledger.failures.append(f"{event_id}: {response.status_code} {response.text[:200]}")
        self.ledger.answers.append(
            Answer(
                started,
                seconds,
                response.status_code,
                _error_code(response),
                response.headers.get("Retry-After"),
                _spooled(response),
            )
        )


def _error_code(response: requests.Response) -> str | None:
    """The ``error`` of our JSON error body; None for a 2xx and for a body that is not ours."""
    if response.ok:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def _spooled(response: requests.Response) -> bool:
    """Whether a 2xx said ``"spooled": true``."""
    if not response.ok:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("spooled") is True


def stored_rows(database_url: str) -> list[tuple]:
    """(scheme, event_id, event_type, status, attempts) of every stored event."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT provider, event_id, event_type, status, attempts FROM webhook_events ORDER BY id"
        ).fetchall()
