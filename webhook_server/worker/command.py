"""The ``webhook-server worker`` command: settings and handler modules checked, then the loop."""

from __future__ import annotations

import os
import sys

import click

from webhook_server.errors import EXIT_CONFIG, ConfigError
from webhook_server.handlers import load_modules, registry
from webhook_server.settings import WorkerSettings
from webhook_server.worker.dispatcher import Dispatcher
from webhook_server.worker.runtime import load_runtime


@click.command()
def worker() -> None:
    """Run the handlers of stored events (at least once each; transactional ones exactly once), retrying failures.

    Configuration comes from the environment: DATABASE_URL, WEBHOOK_HANDLER_MODULES (the
    comma-separated modules that register handlers with @handles) and the optional
    WEBHOOK_WORKER_CONCURRENCY, WEBHOOK_WORKER_BATCH, WEBHOOK_WORKER_POLL, WEBHOOK_MAX_ATTEMPTS,
    WEBHOOK_RETRY_BASE, WEBHOOK_RETRY_CAP, WEBHOOK_HANDLER_TIMEOUT, WEBHOOK_LEASE_SECONDS,
    WEBHOOK_SHUTDOWN_CAP, WEBHOOK_DB_TIMEOUT, WEBHOOK_WORKER_METRICS_BIND (host:port of its
    Prometheus /metrics) and WEBHOOK_RETENTION (finished events older than that, 30d by default,
    are deleted every hour; `off` keeps them). No signing secret. With DJANGO_SETTINGS_MODULE set,
    Django is set up first and handlers use its ORM (webhook_server.contrib.django). Run as many as
    you like, on any hosts.
    """
    # Like gunicorn, find modules in the working directory without a PYTHONPATH.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        settings = WorkerSettings.from_env()
        runtime = load_runtime(settings)  # django.setup() first when DJANGO_SETTINGS_MODULE is set
        load_modules(settings.handler_modules)
        worker = Dispatcher(settings, registry, runtime)
        worker.serve_metrics()
    except ConfigError as exc:
        click.echo(f"webhook-server worker: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    sys.exit(worker.run())
