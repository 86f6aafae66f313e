"""The shutdown sequence: announce the drain, stop accepting, finish in-flight work, exit in time.

On the first SIGTERM the master sets a draining flag that every worker reads: ``/health``
answers 503 so the load balancer takes the instance out, while webhooks are still served.
After ``WEBHOOK_DRAIN_ANNOUNCE`` seconds the master runs gunicorn's own graceful stop, whose
``graceful_timeout`` is derived from the cap (see ``Settings.graceful_timeout``), so SIGTERM →
exit stays within ``WEBHOOK_SHUTDOWN_CAP`` even when a request never ends. A second SIGTERM
skips the rest of the announce; SIGINT and SIGQUIT keep gunicorn's immediate stop.

gunicorn 27 has no hook for "the master got SIGTERM", but its main loop dispatches signals by
name on the arbiter instance, so ``install`` replaces ``handle_term`` on that instance.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from webhook_server.errors import ConfigError
from webhook_server.settings import Settings
from webhook_server.web import metrics
from webhook_server.web.drain import DRAINING
from webhook_server.web.ingest import DirectIngest
from webhook_server.web.main_loop import MainLoopWorker
from webhook_server.web.receiver import Receiver, receiver_of

logger = logging.getLogger(__name__)


class ShutdownSequence:
    """Replaces the arbiter's ``handle_term``: announce first, then gunicorn's graceful stop."""

    def __init__(self, arbiter: Any, drain_announce: float) -> None:
        self.arbiter = arbiter
        self.drain_announce = drain_announce
        self._timer: threading.Timer | None = None

    def handle_term(self) -> None:
        if self._timer is not None:
            logger.info("SIGTERM again or announce over: stopping now")
            self._timer.cancel()
            raise StopIteration  # gunicorn's graceful stop (arbiter.halt)
        if self._reexec_in_progress():
            raise StopIteration
        DRAINING.set()
        if self.drain_announce <= 0:
            raise StopIteration  # still draining: in-flight answers close their connections
        logger.info("SIGTERM: /health now 503; stopping in %.1f s", self.drain_announce)
        # SimpleQueue is thread-safe: queueing SIGTERM wakes the main loop, which calls us again.
        self._timer = threading.Timer(self.drain_announce, self.arbiter.SIG_QUEUE.put_nowait, (signal.SIGTERM,))
        self._timer.name = "drain-announce"
        self._timer.daemon = True
        self._timer.start()

    def _reexec_in_progress(self) -> bool:
        """After USR2, old and new masters share the listeners: nobody needs telling, just stop."""
        return bool(self.arbiter.reexec_pid or self.arbiter.master_pid)


class ReloadGuard:
    """Replaces the arbiter's ``handle_hup``: reload only a configuration that would start.

    gunicorn's own reload spawns new workers, and a worker whose app cannot be built (say an
    endpoints file that became invalid) fails to boot, which makes the master halt with every
    delivery in flight. So the configuration is read here first, in the master; a bad one is
    refused with one log line and the running workers keep serving with the old one.
    """

    def __init__(self, reload: Any) -> None:
        self._reload = reload

    def handle_hup(self) -> None:
        try:
            Settings.from_env()
        except ConfigError as error:
            logger.error("SIGHUP: reload refused, still serving the previous configuration: %s", error)
            return
        logger.info("SIGHUP: configuration valid; replacing workers gracefully")
        self._reload()


def install(arbiter: Any, drain_announce: float) -> None:
    """Called from gunicorn's ``on_starting`` hook, in the master, before workers fork."""
    DRAINING.clear()
    arbiter.handle_term = ShutdownSequence(arbiter, drain_announce).handle_term
    arbiter.handle_hup = ReloadGuard(arbiter.handle_hup).handle_hup


def worker_started(worker: Any) -> None:
    """From ``post_worker_init``: connect now rather than on the first webhook (never waits),
    start draining the spool, which may hold events from a process that is gone, and hand the
    worker's main loop the ingest core it answers whole, signed deliveries with.

    The log line marks the moment the worker has its own signal handlers: gunicorn logs
    "Booting worker" right after the fork, before them, and a stop signal the master sends in
    between is lost, so that worker is only killed at the end of ``graceful_timeout``.
    """
    receiver = _receiver_of(worker)
    if receiver is not None:
        receiver.inbox.start()
        if receiver.drainer is not None:
            receiver.drainer.start()
        if isinstance(worker, MainLoopWorker):
            worker.take_deliveries(DirectIngest(receiver))
    logger.info("worker %s ready", worker.pid)


def worker_exiting(worker: Any) -> None:
    """From ``worker_exit``: stop draining, commit what is queued, close the pool and the spool's file."""
    receiver = _receiver_of(worker)
    if receiver is not None:
        if receiver.drainer is not None:
            receiver.drainer.stop()
        receiver.inbox.close()
        if receiver.spool is not None:
            receiver.spool.close()


def worker_gone(worker: Any) -> None:
    """From ``child_exit``, in the master: a dead worker's gauges stop counting."""
    metrics.worker_exited(worker.pid)


def _receiver_of(worker: Any) -> Receiver | None:
    app = getattr(worker, "wsgi", None)  # unset when the app failed to import
    return receiver_of(app) if app is not None else None


def close_when_draining(req: Any) -> None:
    """From ``pre_request``: while draining, answer with ``Connection: close``.

    Proxies then stop reusing their pooled connections to this instance. An app-set
    Connection header would be dropped by gunicorn as hop-by-hop, hence the request flag.
    """
    if DRAINING.is_set():
        req.must_close = True
