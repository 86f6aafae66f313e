"""gunicorn settings and hooks for webhook-server; the logic behind the hooks is in webhook_server.

Run it with the console script, not ``python -m gunicorn`` (USR2's re-exec breaks with -m):
    gunicorn -c gunicorn.conf.py webhook_server.wsgi:app
"""

import sys

from webhook_server import metrics_dir

# Before anything imports prometheus_client: it picks multiprocess mode from this at import.
metrics_dir.prepare()

from webhook_server import gthread_worker, lifecycle, logs  # noqa: E402
from webhook_server.errors import EXIT_CONFIG, ConfigError  # noqa: E402
from webhook_server.settings import Settings  # noqa: E402

try:
    settings = Settings.from_env()
except ConfigError as error:
    print(f"webhook-server: configuration error: {error}", file=sys.stderr)
    sys.exit(EXIT_CONFIG)

logs.configure(settings.log_level)

bind = settings.bind
workers = settings.workers
# gthread: a sync worker busy with one slow request cannot answer /health at all. Ours adds
# deadlines, so clients that send slowly cannot hold every thread (webhook_server.gthread_worker).
worker_class = gthread_worker.thread_worker(settings.read_timeout)
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
# Never import the app (and open database pools) in the master: each worker opens its own.
preload_app = False


def on_starting(server):
    lifecycle.install(server, settings.drain_announce)


def post_worker_init(worker):
    lifecycle.worker_started(worker)


def pre_request(worker, req):
    lifecycle.close_when_draining(req)


def worker_exit(server, worker):
    lifecycle.worker_exiting(worker)


def child_exit(server, worker):
    from webhook_server import metrics

    metrics.worker_exited(worker.pid)
