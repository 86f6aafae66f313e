"""gunicorn's settings and hooks for webhook-server, loaded as ``-c python:webhook_server.web.config``.

`webhook-server serve` loads this module by name, so an installed wheel serves from any directory;
the checkout's ``gunicorn.conf.py`` only re-exports it. gunicorn imports it once in the master:
on SIGHUP the cached module is reused, so a reload neither exits on a bad environment here nor
wipes the metrics directory; ``lifecycle.ReloadGuard`` validates the new configuration instead.

Run it with the console script, not ``python -m gunicorn`` (USR2's re-exec breaks with -m).
"""

from __future__ import annotations

import sys
from typing import Any

from webhook_server.web import metrics_dir

# Before anything imports prometheus_client: it picks multiprocess mode from this at import.
metrics_dir.prepare()

from webhook_server import logs  # noqa: E402
from webhook_server.errors import EXIT_CONFIG, ConfigError  # noqa: E402
from webhook_server.settings import Settings  # noqa: E402
from webhook_server.web import lifecycle, thread_worker  # noqa: E402

# What gunicorn reads (``gunicorn.conf.py`` re-exports exactly these).
__all__ = [
    "accesslog",
    "bind",
    "child_exit",
    "control_socket_disable",
    "errorlog",
    "graceful_timeout",
    "keepalive",
    "logger_class",
    "loglevel",
    "on_starting",
    "post_worker_init",
    "pre_request",
    "preload_app",
    "threads",
    "timeout",
    "worker_class",
    "worker_exit",
    "workers",
]

try:
    settings = Settings.from_env()
except ConfigError as error:
    print(f"webhook-server: configuration error: {error}", file=sys.stderr)
    sys.exit(EXIT_CONFIG)

logs.configure(settings.log_level)

bind = settings.bind
workers = settings.workers
# gthread: a sync worker busy with one slow request cannot answer /health at all. Ours adds
# deadlines, so clients that send slowly cannot hold every thread (read_deadlines.py).
worker_class = thread_worker.thread_worker(settings.read_timeout, main_loop=settings.main_loop)
threads = settings.threads
# Longer than any load balancer's idle timeout (ALB: 60 s), or it reuses a closed connection: 502.
keepalive = 75
# A worker that stops heartbeating is replaced well before Stripe gives up on a delivery (~20 s).
timeout = 10
# SIGTERM → exit within WEBHOOK_SHUTDOWN_CAP: the announce, then this, then a margin to reap.
graceful_timeout = settings.graceful_timeout
# Since 25.1 gunicorn opens a control socket at a fixed path that parallel instances fight over.
control_socket_disable = True
# JSON lines on stdout/stderr; the journal or the container runtime collects them.
logger_class = logs.JsonGunicornLogger
accesslog = "-"
errorlog = "-"
loglevel = settings.log_level
# Never import the app (and connect to the database) in the master: each worker connects on its own.
preload_app = False


def on_starting(server: Any) -> None:
    lifecycle.install(server, settings.drain_announce)


def post_worker_init(worker: Any) -> None:
    lifecycle.worker_started(worker)


def pre_request(worker: Any, req: Any) -> None:
    lifecycle.close_when_draining(req)


def worker_exit(server: Any, worker: Any) -> None:
    lifecycle.worker_exiting(worker)


def child_exit(server: Any, worker: Any) -> None:
    lifecycle.worker_gone(worker)
