"""The ``webhook-server dashboard`` command: its settings checked, then gunicorn with its own config."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from webhook_server.dashboard.settings import DashboardSettings
from webhook_server.errors import EXIT_CONFIG, ConfigError

CONFIG_MODULE = "webhook_server.dashboard.gunicorn_config"


def gunicorn_command(*extra: str) -> list[str]:
    """gunicorn's console script with the dashboard's configuration (its app named there)."""
    return [str(Path(sys.executable).parent / "gunicorn"), "-c", f"python:{CONFIG_MODULE}", *extra]


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def dashboard(gunicorn_args: tuple[str, ...]) -> None:
    """Serve the operator dashboard in the browser, on a port of its own (never the webhook port).

    Configuration from the environment: DATABASE_URL, WEBHOOK_DASHBOARD_PASSWORD (required, at
    least 12 characters), WEBHOOK_DASHBOARD_STATE_DIR (required unless systemd's StateDirectory=
    sets STATE_DIRECTORY: where the session key is kept), WEBHOOK_DASHBOARD_BIND (default
    127.0.0.1:8100), WEBHOOK_DASHBOARD_TLS=on when browsers reach it over https (the session
    cookie is then Secure), WEBHOOK_READ_TIMEOUT (default 10 s). Extra arguments go to gunicorn
    as they are.
    """
    try:
        DashboardSettings.from_env()
    except ConfigError as exc:
        click.echo(f"webhook-server dashboard: configuration error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    command = gunicorn_command(*gunicorn_args)
    os.execv(command[0], command)
