"""Each destination's own sender threads: the isolation between destinations.

A lane has ``concurrency`` threads, each with its own keep-alive connection (webhook_server.
forwarder.http_sender), and the dispatcher never gives it more deliveries than it has idle
threads (``free``). So a destination that hangs or fails ties up its own threads only: another
destination's deliveries are claimed, started and recorded as if it were not there. The
dispatcher also holds the deadline of every running attempt and aborts one that outlives it
(``abort_overdue``), whatever the destination does with its bytes.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import urlsplit

from webhook_server.destinations_file import DestinationSpec
from webhook_server.errors import ConfigError
from webhook_server.forwarder import transforms
from webhook_server.forwarder.http_sender import HttpSender, Message, Result, tls_context
from webhook_server.forwarder.transforms import ForwardedEvent

# A running attempt is aborted this long after its own deadline (its socket timeouts end it first).
ABORT_GRACE_SECONDS = 0.2
# Deliveries held per thread: the one it sends and the one that waits for it.
PREFETCH = 2


class Sender(Protocol):
    """What a lane's thread sends with: one attempt at a time; ``abort`` from the dispatcher."""

    def send(self, message: Message) -> Result: ...

    def abort(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Job:
    """One claimed delivery: its attempt number, how old it was at the claim, and what to send."""

    delivery_id: int
    destination: str
    attempt: int
    age: float  # seconds since the delivery was created, at claimed_at
    claimed_at: float  # monotonic
    message: Message
    event: ForwardedEvent  # what the destination's transform sees


@dataclass(frozen=True)
class Sent:
    """A lane's thread finished an attempt; the dispatcher records it."""

    job: Job
    result: Result


class Lane:
    """The threads of one destination. ``submit``, ``free``, ``finished`` and the deadlines are the
    dispatcher's; the threads only send and report."""

    def __init__(self, spec: DestinationSpec, messages: queue.SimpleQueue[object]) -> None:
        self.spec = spec
        self._transform = transforms.load(spec)
        self._bucket = None if spec.rate is None else _Bucket(spec.rate)
        self._messages = messages
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running: dict[int, tuple[float, Sender]] = {}  # by thread index: (deadline, sender)
        self.held = 0
        senders, self._close = _senders(spec)
        self._threads = [
            threading.Thread(target=self._run, args=(index, sender), name=f"send {spec.name} {index}", daemon=True)
            for index, sender in enumerate(senders)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def claimable(self, now: float) -> int:
        """How many deliveries to claim now: what ``free`` allows, within the destination's ``rate``."""
        if self._bucket is None:
            return self.free()
        return min(self.free(), self._bucket.available(now))

    def next_token(self, now: float) -> float | None:
        """When the rate allows the next attempt, if it allows none now; None without a rate."""
        return None if self._bucket is None else self._bucket.next_token(now)

    def submit_claimed(self, now: float, count: int) -> None:
        """The dispatcher claimed ``count`` deliveries: they use up the rate's allowance."""
        if self._bucket is not None:
            self._bucket.take(now, count)

    def free(self) -> int:
        """How many more deliveries the dispatcher may claim for this destination now: its threads,
        and as many again waiting for one, so that a thread finds its next attempt ready while the
        dispatcher records the last. A waiting one starts within one attempt's timeout, which the
        lease (``2 x timeout + 5 s``) covers."""
        return PREFETCH * self.spec.concurrency - self.held

    def submit(self, job: Job) -> None:
        self.held += 1
        self._jobs.put(job)

    def finished(self) -> None:
        self.held -= 1

    def next_deadline(self) -> float | None:
        with self._lock:
            deadlines = [deadline for deadline, _ in self._running.values()]
        return min(deadlines) + ABORT_GRACE_SECONDS if deadlines else None

    def abort_overdue(self, now: float) -> None:
        """Abort the attempts past their deadline (their threads report them as timed out)."""
        with self._lock:  # held while aborting: the attempt cannot end and another begin meanwhile
            for deadline, sender in self._running.values():
                if now >= deadline + ABORT_GRACE_SECONDS:
                    sender.abort()

    def abort_all(self) -> None:
        """The forwarder is stopping and out of time: end every running attempt now."""
        with self._lock:
            for _, sender in self._running.values():
                sender.abort()

    def take_queued(self) -> list[Job]:
        """The forwarder is stopping: the claimed deliveries no thread has started, off the queue."""
        taken: list[Job] = []
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return taken
            if job is not None:
                taken.append(job)

    def stop(self, deadline: float) -> None:
        """End the threads (each after its running attempt) and close what they share, by ``deadline``."""
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._close()

    def _attempt(self, sender: Sender, job: Job) -> Result:
        message = job.message if self._transform is None else _transformed(self._transform, job)
        return message if isinstance(message, Result) else sender.send(message)

    def _run(self, index: int, sender: Sender) -> None:
        while (job := self._jobs.get()) is not None:
            with self._lock:
                self._running[index] = (time.monotonic() + self.spec.timeout, sender)
            try:
                result = self._attempt(sender, job)
            except Exception as exc:  # a bug of ours, not the destination's: recorded, the thread lives on
                result = Result(False, 0.0, error=f"the forwarder failed to send it: {type(exc).__name__}: {exc}")
            finally:
                with self._lock:
                    del self._running[index]
            self._messages.put(Sent(job, result))
        sender.close()


class _Bucket:
    """A token bucket: ``rate`` attempts a second, a burst of a second's worth (at least one)."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate)
        self._tokens = self._capacity
        self._updated = time.monotonic()

    def available(self, now: float) -> int:
        self._refill(now)
        return int(self._tokens)

    def take(self, now: float, count: int) -> None:
        self._refill(now)
        self._tokens -= count

    def next_token(self, now: float) -> float | None:
        self._refill(now)
        return None if self._tokens >= 1 else now + (1 - self._tokens) / self._rate

    def _refill(self, now: float) -> None:
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now


def _transformed(transform: transforms.Transform, job: Job) -> Message | Result:
    """The message with the transform's body, or the attempt's result when it dropped the event or raised."""
    started = time.monotonic()
    try:
        body = transforms.apply(transform, job.event)
    except Exception as exc:  # the operator's code: what it raises fails this attempt, retried later
        return Result(False, time.monotonic() - started, error=f"the transform raised {transforms.described(exc)}")
    if body is None:
        return Result(True, time.monotonic() - started, dropped=True)
    return replace(job.message, body=body)


def _senders(spec: DestinationSpec) -> tuple[list[Sender], Callable[[], None]]:
    """A sender per thread, and what closes what they share (a NATS destination's connection)."""
    if not spec.is_nats:
        context = tls_context(spec) if urlsplit(spec.url).scheme == "https" else None
        return [HttpSender(spec, context) for _ in range(spec.concurrency)], lambda: None
    try:  # nats-py only where a NATS destination is configured: the [nats] extra
        from webhook_server.forwarder.nats_sender import NatsConnection, NatsSender
    except ImportError:
        raise ConfigError(
            "WEBHOOK_DESTINATIONS_FILE",
            f"destination {spec.name!r} is a NATS destination and nats-py is not installed: "
            "pip install 'webhook-server[nats]'",
        ) from None
    connection = NatsConnection(spec)
    return [NatsSender(spec, connection) for _ in range(spec.concurrency)], connection.close
