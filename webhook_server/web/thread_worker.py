"""The webhook server's gunicorn worker: gthread with the read deadlines of
webhook_server/read_deadlines.py, and the main loop that answers health checks and whole, signed
deliveries itself (web/main_loop.py); everything else reaches the threads, with the deadlines.
"""

from __future__ import annotations

from gunicorn.workers import gthread

from webhook_server.read_deadlines import with_read_deadlines
from webhook_server.web import metrics
from webhook_server.web.main_loop import MainLoopWorker


def thread_worker(read_timeout: float, *, main_loop: bool = True) -> type[gthread.ThreadWorker]:
    """gthread's worker class, with every request read within ``read_timeout`` seconds; with
    ``main_loop`` off, stock gthread's main loop, which hands every request to a thread."""
    return with_read_deadlines(
        MainLoopWorker if main_loop else gthread.ThreadWorker, read_timeout, metrics.SLOW_CLIENTS.inc
    )
