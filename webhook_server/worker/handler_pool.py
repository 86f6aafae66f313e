"""Threads that run handlers, with a timeout that Python cannot enforce and so is kept honestly.

A Python thread cannot be killed. When a handler runs past ``WEBHOOK_HANDLER_TIMEOUT``, the
pool gives up on it: the attempt is reported as timed out (the worker records it failed and
schedules the retry), the thread is *abandoned* (whatever it returns later is dropped) and a
fresh thread takes its place, so the worker keeps its concurrency. The abandoned handler may
still finish its side effects, even after the retry started: one more reason for idempotent
handlers (a transactional handler's writes are not kept: webhook_server.worker.runtime). Its
running query is cancelled, and its connection stays with it until it ends. Abandoned threads
that never return pile up; ``stuck()`` counts them so the worker can exit and let its supervisor
(systemd) start a clean process.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Protocol

from webhook_server.handlers import Event, Handler


@dataclass(slots=True, eq=False)
class Job:
    """One claimed attempt: the row id and attempt number identify the claim in the table."""

    id: int
    attempt: int
    event: Event
    handler: Handler
    transactional: bool = False  # called as handler(event, conn); its outcome commits with its writes
    started: float | None = field(default=None)  # monotonic time the handler was called

    @property
    def row(self) -> tuple[int, datetime]:
        """The row id and its partition key (received_at), as the worker's statements take them."""
        return (self.id, self.event.received_at)


class Runtime(Protocol):
    """What a handler thread needs to call handlers; one instance per thread, used only by it."""

    def run(self, job: Job) -> None:
        """Call the job's handler; raise what it raised, or LeaseLost when its transaction could not commit."""

    def cancel(self) -> None:
        """From the dispatcher, when the handler timed out: abort its running query, if any."""

    def close(self) -> None:
        """The thread is ending: close its connections."""


@dataclass(slots=True, eq=False)
class Finished:
    """A handler returned (``error`` None) or raised ``error``."""

    job: Job
    error: BaseException | None


class _Runner:
    """One handler thread and the job it runs; ``lock`` decides between its finish and its timeout."""

    def __init__(self, pool: HandlerPool, number: int) -> None:
        self.pool = pool
        self.lock = threading.Lock()
        self.job: Job | None = None
        self.abandoned = False
        self.runtime: Runtime = pool.runtime_factory()
        self.thread = threading.Thread(target=self._run, name=f"handler-{number}", daemon=True)

    def _run(self) -> None:
        work, results = self.pool.work, self.pool.results
        while True:
            job = work.get()
            if job is None:
                self.runtime.close()
                return
            with self.lock:
                self.job = job
                job.started = time.monotonic()
            try:
                self.runtime.run(job)
                error = None
            except BaseException as exc:  # a handler's sys.exit() fails its event, not the worker
                error = exc.with_traceback(_from_handler(exc.__traceback__))
            with self.lock:
                if self.abandoned:
                    self.runtime.close()
                    return  # timed out already: the outcome was recorded and another thread replaced us
                self.job = None
            results.put(Finished(job, error))


def _from_handler(trace: TracebackType | None) -> TracebackType | None:
    """The traceback from the handler's frame on: the frames of the thread and runtime that called it say nothing."""
    while trace is not None and trace.tb_frame.f_globals.get("__name__", "").startswith(_CALLERS):
        trace = trace.tb_next
    return trace


_CALLERS = ("webhook_server.worker.", "webhook_server.contrib.")


class HandlerPool:
    """``concurrency`` threads taking jobs from one queue and reporting to ``results``."""

    def __init__(
        self,
        concurrency: int,
        timeout: float,
        results: queue.SimpleQueue[object],
        runtime_factory: Callable[[], Runtime],
    ) -> None:
        self.concurrency = concurrency
        self.timeout = timeout
        self.results = results
        self.runtime_factory = runtime_factory
        self.work: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._numbers = itertools.count(1)
        self._runners: list[_Runner] = []
        self._abandoned: list[_Runner] = []

    def start(self) -> None:
        for _ in range(self.concurrency):
            self._add_runner()

    def submit(self, job: Job) -> None:
        self.work.put(job)

    def take_queued(self) -> list[Job]:
        """Remove and return the jobs no thread has started yet."""
        taken: list[Job] = []
        while True:
            try:
                job = self.work.get_nowait()
            except queue.Empty:
                return taken
            if job is not None:
                taken.append(job)

    def expire(self, now: float) -> list[Job]:
        """Abandon every handler running past the timeout and return their jobs."""
        expired = []
        for runner in list(self._runners):
            job = runner.job
            if job is None or job.started is None or now - job.started < self.timeout:
                continue
            with runner.lock:
                if runner.job is not job:
                    continue  # it finished meanwhile: its result is on the way
                runner.abandoned = True
                runner.job = None
            runner.runtime.cancel()
            self._runners.remove(runner)
            self._abandoned.append(runner)
            self._add_runner()
            expired.append(job)
        return expired

    def next_expiry(self) -> float | None:
        """The monotonic time the earliest running handler times out, if any is running."""
        starts = [job.started for runner in self._runners if (job := runner.job) and job.started is not None]
        return min(starts) + self.timeout if starts else None

    def stuck(self) -> int:
        """Abandoned threads that are still running their handler."""
        self._abandoned = [runner for runner in self._abandoned if runner.thread.is_alive()]
        return len(self._abandoned)

    def stop(self) -> None:
        """Let every thread finish its current job and exit; queued jobs should be taken first."""
        for _ in self._runners:
            self.work.put(None)

    def _add_runner(self) -> None:
        runner = _Runner(self, next(self._numbers))
        self._runners.append(runner)
        runner.thread.start()
