"""The ``webhook-server forward`` command: settings and destinations checked, then the loop."""

from __future__ import annotations

import sys

import click

from webhook_server.errors import EXIT_CONFIG, ConfigError
from webhook_server.forwarder.dispatcher import Forwarder
from webhook_server.forwarder.settings import ForwarderSettings


@click.command()
def forward() -> None:
    """Send stored events to the destinations of WEBHOOK_DESTINATIONS_FILE, signed, retried, at least once each.

    Configuration comes from the environment: DATABASE_URL, WEBHOOK_DESTINATIONS_FILE (a TOML
    file of [destinations.<name>] tables: url, secret_env, endpoints, event_types, …; see
    docs/how-to/forwarding.md) and the optional WEBHOOK_FORWARD_POLL, WEBHOOK_FORWARD_BATCH,
    WEBHOOK_FORWARD_METRICS_BIND (host:port of its Prometheus /metrics), WEBHOOK_SHUTDOWN_CAP and
    WEBHOOK_DB_TIMEOUT. Run as many as you like, on any hosts, all with the same file.
    """
    try:
        forwarder = Forwarder(ForwarderSettings.from_env())
        forwarder.serve_metrics()
    except ConfigError as exc:
        click.echo(f"webhook-server forward: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    sys.exit(forwarder.run())
