"""The ``webhook-server`` command: serve, migrate, dev, send, worker."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import requests

from webhook_server import localdb, logs, samples
from webhook_server.errors import EXIT_CONFIG, EXIT_DATABASE, EXIT_OK
from webhook_server.migrations import migrate as apply_migrations
from webhook_server.worker_cli import worker

WSGI_TARGET = "webhook_server.wsgi:app"
DEV_SECRET_FILE = "stripe-webhook-secret"
DEFAULT_DEV_DIR = ".webhook-dev"
# How long `dev` gives gunicorn to stop after Ctrl-C before killing it.
DEV_STOP_SECONDS = 15


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """A webhook receiver that commits every verified event to Postgres before answering 200."""
    logs.configure(os.environ.get("WEBHOOK_LOG_LEVEL", "info"))


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve(gunicorn_args: tuple[str, ...]) -> None:
    """Run the production server: gunicorn with the shipped gunicorn.conf.py.

    Configuration comes from the environment (DATABASE_URL, STRIPE_WEBHOOK_SECRET, WEBHOOK_*);
    extra arguments go to gunicorn as they are.
    """
    command = gunicorn_command(*gunicorn_args)
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
def dev(data_dir: Path, port: int) -> None:
    """Run the server on a local throwaway Postgres; no DATABASE_URL needed. Ctrl-C stops all."""
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    postgres = localdb.LocalPostgres(data_dir / "pgdata")
    secret = _dev_secret(data_dir)
    server: subprocess.Popen[bytes] | None = None
    try:
        click.echo(f"starting Postgres in {postgres.data_dir} …")
        postgres.start()
        apply_migrations(postgres.url())
        env = {
            **os.environ,
            "DATABASE_URL": postgres.url(),
            "STRIPE_WEBHOOK_SECRET": secret,
            "WEBHOOK_BIND": f"127.0.0.1:{port}",
        }
        server = subprocess.Popen(gunicorn_command(), env=env)
        url = f"http://127.0.0.1:{port}"
        click.echo(
            f"\nwebhook-server is running at {url} (Postgres at {postgres.url()})\n"
            f"  send a signed test event:  {Path(sys.executable).parent / 'webhook-server'} send stripe --url "
            f"{url}/webhooks/stripe\n"
            f"  Stripe signing secret:     {secret} (stored in {data_dir / DEV_SECRET_FILE})\n"
            "  stop:                      Ctrl-C\n",
            err=True,
        )
        sys.exit(server.wait())
    except KeyboardInterrupt:
        click.echo("stopping …", err=True)
    finally:
        if server is not None:
            _stop(server)
        postgres.stop()


@main.group()
def send() -> None:
    """Sign a realistic sample event and post it, printing status and latency."""


@send.command("stripe")
@click.option("--type", "event_type", default="payment_intent.succeeded", show_default=True, help="Event type.")
@click.option("--id", "event_id", default=None, help="Event id (default: a new one); repeat one to see a duplicate.")
@click.option(
    "--url",
    default="http://127.0.0.1:8000/webhooks/stripe",
    envvar="WEBHOOK_SEND_URL",
    show_envvar=True,
    show_default=True,
    help="Where to post.",
)
@click.option(
    "--secret",
    envvar="STRIPE_WEBHOOK_SECRET",
    show_envvar=True,
    help=f"Signing secret (default: the dev server's, from {DEFAULT_DEV_DIR}/{DEV_SECRET_FILE}).",
)
def send_stripe(event_type: str, event_id: str | None, url: str, secret: str | None) -> None:
    """Post a Stripe event signed with the stripe SDK's own helper (like `stripe trigger`)."""
    secret = (secret or _stored_dev_secret() or "").split(",")[0].strip()
    if not secret:
        raise click.UsageError("no signing secret: set STRIPE_WEBHOOK_SECRET or start `webhook-server dev` first")
    event = samples.stripe_event(event_type, event_id=event_id)
    body, headers = samples.signed_stripe_request(event, secret)
    started = time.perf_counter()
    try:
        response = requests.post(url, data=body, headers=headers, timeout=30, allow_redirects=False)
    except requests.RequestException as exc:
        raise click.ClickException(f"could not post to {url}: {exc}; is the server running?") from None
    elapsed_ms = (time.perf_counter() - started) * 1000
    click.echo(f"{event['id']} {event_type} → {response.status_code} in {elapsed_ms:.1f} ms: {response.text.strip()}")
    sys.exit(EXIT_OK if response.ok else 1)


def gunicorn_command(*extra: str) -> list[str]:
    """The production entrypoint: gunicorn's console script (not ``python -m gunicorn``)."""
    script = Path(sys.executable).parent / "gunicorn"
    config = _gunicorn_config()
    return [str(script), "-c", str(config), *extra, WSGI_TARGET]


def _gunicorn_config() -> Path:
    configured = os.environ.get("WEBHOOK_GUNICORN_CONFIG")
    candidates = (
        [Path(configured)]
        if configured
        else [Path.cwd() / "gunicorn.conf.py", Path(__file__).resolve().parents[1] / "gunicorn.conf.py"]
    )
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    click.echo(
        f"webhook-server: no gunicorn.conf.py at {', '.join(map(str, candidates))}; "
        "set WEBHOOK_GUNICORN_CONFIG to its path",
        err=True,
    )
    sys.exit(EXIT_CONFIG)


def _dev_secret(data_dir: Path) -> str:
    """The dev server's Stripe secret: STRIPE_WEBHOOK_SECRET if set, else one kept in data_dir."""
    if os.environ.get("STRIPE_WEBHOOK_SECRET"):
        return os.environ["STRIPE_WEBHOOK_SECRET"]
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / DEV_SECRET_FILE
    if not path.exists():
        path.write_text(f"whsec_dev_{secrets.token_hex(16)}\n")
    return path.read_text().strip()


def _stored_dev_secret() -> str | None:
    path = Path(os.environ.get("WEBHOOK_DEV_DIR", DEFAULT_DEV_DIR)) / DEV_SECRET_FILE
    return path.read_text().strip() if path.exists() else None


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn at once (SIGINT) and make sure no process is left behind."""
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
    try:
        server.wait(DEV_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


main.add_command(worker)


def run() -> None:
    """Entry point that maps an unreachable database at start to its exit code."""
    try:
        main()
    except localdb.LocalPostgresError as exc:
        click.echo(f"webhook-server: local Postgres failed: {exc}", err=True)
        sys.exit(EXIT_DATABASE)
