"""The ``webhook-server`` command: serve, migrate, dev, send, worker, dashboard (operator commands: operator/)."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import requests

from webhook_server import endpoints_file, logs
from webhook_server.dashboard.command import dashboard
from webhook_server.dashboard.command import gunicorn_command as dashboard_command
from webhook_server.dev import localdb, samples
from webhook_server.environment import comma_separated
from webhook_server.errors import EXIT_CONFIG, EXIT_DATABASE, EXIT_FAILURE, EXIT_OK, ConfigError
from webhook_server.migrations import migrate as apply_migrations
from webhook_server.operator.commands import OPERATOR_COMMANDS
from webhook_server.serving.entrypoint import gunicorn_command
from webhook_server.settings import SECRET_VARIABLES
from webhook_server.worker.command import worker

DEFAULT_DEV_DIR = ".webhook-dev"
# How long `dev` gives gunicorn and the worker to stop after Ctrl-C before killing them.
DEV_STOP_SECONDS = 15
# What the dev worker runs unless WEBHOOK_HANDLER_MODULES names the user's own handlers.
DEV_HANDLER_MODULE = "webhook_server.dev.handlers"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """A webhook receiver that commits every verified event to Postgres before answering 200."""
    logs.configure(os.environ.get("WEBHOOK_LOG_LEVEL", "info"))


# events, replay, stats, reconcile: webhook_server/operator/commands.py
for _command in OPERATOR_COMMANDS:
    main.add_command(_command)


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve(gunicorn_args: tuple[str, ...]) -> None:
    """Run the production server: gunicorn with the package's configuration (webhook_server.serving.config).

    Configuration comes from the environment (DATABASE_URL, the providers' secrets, WEBHOOK_*);
    extra arguments go to gunicorn as they are.
    """
    try:
        command = gunicorn_command(*gunicorn_args)
    except ConfigError as exc:
        click.echo(f"webhook-server: configuration error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    os.execv(command[0], command)


@main.command()
@click.option(
    "--database-url",
    envvar="DATABASE_URL",
    show_envvar=True,
    required=True,
    help="Postgres URL of the database to migrate.",
)
def migrate(database_url: str) -> None:
    """Create or upgrade the schema. Safe to run from several hosts at once."""
    try:
        applied = apply_migrations(database_url)
    except Exception as exc:
        raise click.ClickException(f"migration failed: {exc}") from None
    click.echo(f"applied: {', '.join(applied)}" if applied else "schema already up to date")


@main.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DEV_DIR,
    envvar="WEBHOOK_DEV_DIR",
    show_envvar=True,
    show_default=True,
    help="Where the local Postgres keeps its data (delete it to start afresh).",
)
@click.option(
    "--port",
    type=int,
    default=8000,
    envvar="WEBHOOK_DEV_PORT",
    show_envvar=True,
    show_default=True,
    help="Port of the server on 127.0.0.1.",
)
@click.option(
    "--dashboard-port",
    type=int,
    default=8001,
    envvar="WEBHOOK_DEV_DASHBOARD_PORT",
    show_envvar=True,
    show_default=True,
    help="Port of the dashboard on 127.0.0.1.",
)
def dev(data_dir: Path, port: int, dashboard_port: int) -> None:
    """Run the server, a worker and the dashboard on a local throwaway Postgres; no DATABASE_URL needed.

    The worker runs WEBHOOK_HANDLER_MODULES if set, else handlers that log every event. The
    dashboard gets a new password each time, printed with its address. Ctrl-C stops all.
    """
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    postgres = localdb.LocalPostgres(data_dir / "pgdata")
    secrets_by_variable = _dev_secrets(data_dir)
    children: list[subprocess.Popen[bytes]] = []
    try:
        click.echo(f"starting Postgres in {postgres.data_dir} …")
        postgres.start()
        apply_migrations(postgres.url())
        env = {
            "WEBHOOK_HANDLER_MODULES": DEV_HANDLER_MODULE,
            # Stopping the local Postgres shows what production does: deliveries spooled, then drained.
            "WEBHOOK_SPOOL_DIR": str((data_dir / "spool").resolve()),
            **os.environ,
            "DATABASE_URL": postgres.url(),
            **secrets_by_variable,
            "WEBHOOK_BIND": f"127.0.0.1:{port}",
        }
        children.append(subprocess.Popen(gunicorn_command(), env=env))
        children.append(subprocess.Popen([str(Path(sys.executable).parent / "webhook-server"), "worker"], env=env))
        dashboard_password = secrets.token_urlsafe(18)
        dashboard_env = {
            **env,
            "WEBHOOK_DASHBOARD_BIND": f"127.0.0.1:{dashboard_port}",
            "WEBHOOK_DASHBOARD_PASSWORD": dashboard_password,
        }
        children.append(subprocess.Popen(dashboard_command(), env=dashboard_env))
        url = f"http://127.0.0.1:{port}"
        click.echo(
            f"\nwebhook-server is running at {url} (Postgres at {postgres.url()})\n"
            f"  send a signed test event:  {Path(sys.executable).parent / 'webhook-server'} send stripe --url "
            f"{url}/webhooks/stripe\n"
            f"  (or send {'|'.join(SECRET_VARIABLES)}, each to its own /webhooks/<provider>)\n"
            f"  signing secrets:           {', '.join(secrets_by_variable)} (stored in {data_dir})\n"
            f"  handlers:                  {env['WEBHOOK_HANDLER_MODULES']} (set WEBHOOK_HANDLER_MODULES)\n"
            f"  spool (Postgres down):     {env['WEBHOOK_SPOOL_DIR']} (set WEBHOOK_SPOOL_DIR)\n"
            f"  dashboard:                 http://127.0.0.1:{dashboard_port}/ password {dashboard_password}\n"
            "  stop:                      Ctrl-C\n",
            err=True,
        )
        sys.exit(_wait_for_first_exit(children))
    except KeyboardInterrupt:
        click.echo("stopping …", err=True)
    finally:
        _stop_all(children)
        postgres.stop()


class _SendGroup(click.Group):
    """`send <provider>` for the built-in providers, and for each endpoint of WEBHOOK_ENDPOINTS_FILE."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            endpoints = _endpoints()
        except ConfigError:
            endpoints = ()  # a broken file is reported when one of its endpoints is named
        return [*SECRET_VARIABLES, *(spec.name for spec in endpoints)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SECRET_VARIABLES:
            return _send_command(cmd_name, SECRET_VARIABLES[cmd_name], samples.DEFAULT_TYPES[cmd_name])
        try:
            spec = next((spec for spec in _endpoints() if spec.name == cmd_name), None)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        return None if spec is None else _send_command(cmd_name, spec.secret_variable, cmd_name, spec)


@main.group(cls=_SendGroup)
def send() -> None:
    """Sign a realistic sample event and post it, printing status and latency."""


def _send_command(
    name: str, variable: str, default_type: str, spec: endpoints_file.EndpointSpec | None = None
) -> click.Command:
    """The `send <name>` command: the same options for every provider, each with its own secret."""

    @click.command(name, help=f"Post a {name} event signed the way that sender signs it.")
    @click.option("--type", "event_type", default=default_type, show_default=True, help="Event type.")
    @click.option(
        "--id", "event_id", default=None, help="Event id (default: a new one); repeat one to see a duplicate."
    )
    @click.option(
        "--url",
        default=f"http://127.0.0.1:8000/webhooks/{name}",
        envvar="WEBHOOK_SEND_URL",
        show_envvar=True,
        show_default=True,
        help="Where to post.",
    )
    @click.option(
        "--secret",
        envvar=variable,
        show_envvar=True,
        help="Signing secret"
        + (f" (default: the dev server's, from {DEFAULT_DEV_DIR}/{_dev_secret_file(name)})." if spec is None else "."),
    )
    def command(event_type: str, event_id: str | None, url: str, secret: str | None) -> None:
        secret = next(iter(comma_separated(secret or _stored_dev_secret(name) or "")), "")  # the first, if several
        if not secret:
            raise click.UsageError(f"no signing secret: set {variable} or start `webhook-server dev` first")
        if spec is None:
            sample = samples.signed_sample(name, secret, event_type, event_id)
        else:
            sample = samples.signed_generic_sample(spec, secret, event_type, event_id)
        _post(url, sample)

    return command


def _endpoints() -> tuple[endpoints_file.EndpointSpec, ...]:
    return endpoints_file.from_environ(os.environ, reserved=SECRET_VARIABLES)


def _post(url: str, sample: samples.SignedSample) -> None:
    started = time.perf_counter()
    try:
        response = requests.post(url, data=sample.body, headers=sample.headers, timeout=30, allow_redirects=False)
    except requests.RequestException as exc:
        raise click.ClickException(f"could not post to {url}: {exc}; is the server running?") from None
    elapsed_ms = (time.perf_counter() - started) * 1000
    click.echo(
        f"{sample.event_id} {sample.event_type} → {response.status_code} in {elapsed_ms:.1f} ms: "
        f"{response.text.strip()}"
    )
    sys.exit(EXIT_OK if response.ok else EXIT_FAILURE)


def _dev_secrets(data_dir: Path) -> dict[str, str]:
    """A secret for every built-in provider, by variable: the environment's if set, else one
    kept in data_dir, so `send <provider>` finds it there."""
    data_dir.mkdir(parents=True, exist_ok=True)
    found = {}
    for provider, variable in SECRET_VARIABLES.items():
        path = data_dir / _dev_secret_file(provider)
        if os.environ.get(variable):
            found[variable] = os.environ[variable]
            continue
        if not path.exists():
            path.write_text(f"{_new_dev_secret(provider)}\n")
        found[variable] = path.read_text().strip()
    return found


def _new_dev_secret(provider: str) -> str:
    if provider == "stripe":
        return f"whsec_dev_{secrets.token_hex(16)}"
    if provider == "standard":
        return f"whsec_{base64.b64encode(secrets.token_bytes(24)).decode()}"
    return secrets.token_hex(16)


def _dev_secret_file(provider: str) -> str:
    return f"{provider}-webhook-secret"


def _stored_dev_secret(provider: str) -> str | None:
    path = Path(os.environ.get("WEBHOOK_DEV_DIR", DEFAULT_DEV_DIR)) / _dev_secret_file(provider)
    return path.read_text().strip() if path.exists() else None


def _wait_for_first_exit(children: list[subprocess.Popen[bytes]]) -> int:
    """Wait until one child exits (the others are then stopped) and return its code."""
    while True:
        for child in children:
            if child.poll() is not None:
                return child.returncode
        time.sleep(0.2)


def _stop_all(children: list[subprocess.Popen[bytes]]) -> None:
    """Stop gunicorn and the worker at once (SIGINT) and make sure no process is left behind."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    for child in children:
        try:
            child.wait(DEV_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


main.add_command(worker)
main.add_command(dashboard)


def run() -> None:
    """Entry point that maps an unreachable database at start to its exit code."""
    try:
        main()
    except localdb.LocalPostgresError as exc:
        click.echo(f"webhook-server: local Postgres failed: {exc}", err=True)
        sys.exit(EXIT_DATABASE)
