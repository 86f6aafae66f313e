"""The ``webhook-server`` command: serve, migrate, dev, send, worker, forward, dashboard.

The operator commands are in operator/ (``destinations``: operator/destinations.py).
"""

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

from webhook_server import destinations_file, endpoints_file, logs
from webhook_server.dashboard.command import dashboard
from webhook_server.dashboard.command import gunicorn_command as dashboard_command
from webhook_server.dev import localdb, samples, workspace
from webhook_server.environment import comma_separated, secret_origin, secret_text
from webhook_server.errors import EXIT_CONFIG, EXIT_DATABASE, EXIT_FAILURE, EXIT_OK, ConfigError
from webhook_server.forwarder.command import forward
from webhook_server.migrations import LOCK_TIMEOUT_SECONDS, convert_to_partitions
from webhook_server.migrations import migrate as apply_migrations
from webhook_server.operator.commands import OPERATOR_COMMANDS, secret_option
from webhook_server.operator.destinations import destinations
from webhook_server.settings import SECRET_VARIABLES
from webhook_server.web.entrypoint import gunicorn_command
from webhook_server.worker.command import worker

# How long `dev` gives gunicorn and the worker to stop after Ctrl-C before killing them.
DEV_STOP_SECONDS = 15
# What the dev worker runs unless WEBHOOK_HANDLER_MODULES names the user's own handlers.
DEV_HANDLER_MODULE = "webhook_server.dev.handlers"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
# The installed distribution's version (setup.cfg), so it cannot disagree with `pip show`.
@click.version_option(package_name="webhook-server", prog_name="webhook-server")
def main() -> None:
    """A webhook receiver that commits every verified event to Postgres before answering 200."""
    logs.configure(os.environ.get("WEBHOOK_LOG_LEVEL", "info"))


# events, replay, stats, reconcile: webhook_server/operator/commands.py
for _command in OPERATOR_COMMANDS:
    main.add_command(_command)


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve(gunicorn_args: tuple[str, ...]) -> None:
    """Run the production server: gunicorn with the package's configuration (webhook_server.web.config).

    Configuration comes from the environment (DATABASE_URL, the schemes' secrets, WEBHOOK_*);
    extra arguments go to gunicorn as they are.
    """
    try:
        command = gunicorn_command(*gunicorn_args)
    except ConfigError as exc:
        click.echo(f"webhook-server: configuration error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    os.execv(command[0], command)


@main.command()
@secret_option(
    "--database-url",
    "DATABASE_URL",
    required=True,
    help="Postgres URL of the database to migrate (or DATABASE_URL_FILE, or a systemd credential).",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0.01),
    default=LOCK_TIMEOUT_SECONDS,
    envvar="WEBHOOK_MIGRATE_LOCK_TIMEOUT",
    show_envvar=True,
    show_default=True,
    help="Seconds each statement may wait for a lock before giving way to traffic and retrying; "
    "keep it well below WEBHOOK_DB_TIMEOUT, which inserts queued behind it must meet.",
)
@click.option(
    "--partition",
    is_flag=True,
    help="Then convert a populated webhook_events to daily partitions, online; only once every server "
    "and worker runs this version (docs/how-to/retention-and-partitions.md).",
)
def migrate(database_url: str, lock_timeout: float, partition: bool) -> None:
    """Create or upgrade the schema. Safe to run from several hosts at once, and under traffic."""
    try:
        applied = apply_migrations(database_url, lock_timeout=lock_timeout)
        converted = partition and convert_to_partitions(database_url, lock_timeout=lock_timeout)
    except Exception as exc:
        raise click.ClickException(f"migration failed: {exc}") from None
    click.echo(f"applied: {', '.join(applied)}" if applied else "schema already up to date")
    if partition:
        click.echo(
            "webhook_events converted to daily partitions" if converted else "webhook_events already partitioned"
        )


@main.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=workspace.DEFAULT_DIR,
    envvar=workspace.DIR_VARIABLE,
    show_envvar=True,
    show_default=True,
    help="Where the local Postgres, its password and port, and the dev secrets are kept (delete it to start afresh).",
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
    default=8100,
    envvar="WEBHOOK_DEV_DASHBOARD_PORT",
    show_envvar=True,
    show_default=True,
    help="Port of the dashboard on 127.0.0.1.",
)
@click.option(
    "--forward-to",
    metavar="URL",
    envvar="WEBHOOK_DEV_FORWARD_TO",
    show_envvar=True,
    help="Also run `forward` to this URL (your app, any language), signed with the Standard Webhooks "
    "secret kept in <data-dir>/forward-secret.",
)
def dev(data_dir: Path, port: int, dashboard_port: int, forward_to: str | None) -> None:
    """Run the server, a worker and the dashboard on a local Postgres; no DATABASE_URL needed.

    The database lives in --data-dir and persists between runs, on the same port with the same
    password: `source <data-dir>/env` sets DATABASE_URL for the operator commands. The server
    verifies with the dev secrets kept there (never your shell's STRIPE_WEBHOOK_SECRET…), and
    `send` signs with the same ones. The worker runs WEBHOOK_HANDLER_MODULES if set, else
    handlers that log every event. The dashboard gets a new password each time, printed with its
    address. With --forward-to, every event also goes to your app, signed with a dev secret as
    `stripe listen --forward-to` does. Ctrl-C stops all.
    """
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    space = workspace.Workspace(data_dir)
    space.prepare()
    postgres = space.postgres()
    forward_env = _forwarding_env(space, forward_to) if forward_to else {}
    secrets_by_variable = {
        variable: space.signing_secret(scheme, create=True) or "" for scheme, variable in SECRET_VARIABLES.items()
    }
    children: list[subprocess.Popen[bytes]] = []
    try:
        click.echo(f"starting Postgres in {postgres.data_dir} …", err=True)
        postgres.start()
        apply_migrations(postgres.url())
        env_file = space.write_env(postgres.url())
        env = {
            "WEBHOOK_HANDLER_MODULES": DEV_HANDLER_MODULE,
            # Stopping the local Postgres shows what production does: deliveries spooled, then drained.
            "WEBHOOK_SPOOL_DIR": str(space.spool_directory()),
            **{name: value for name, value in os.environ.items() if not _shadows_dev_secret(name)},
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
            # Its session key; a new password each start signs the last run's sessions out anyway.
            "WEBHOOK_DASHBOARD_STATE_DIR": str(space.directory / "dashboard"),
        }
        children.append(subprocess.Popen(dashboard_command(), env=dashboard_env))
        forwarding = ""
        if forward_to:
            children.append(
                subprocess.Popen(
                    [str(Path(sys.executable).parent / "webhook-server"), "forward"], env={**env, **forward_env}
                )
            )
            forwarding = (
                f"  forwarding to:             {forward_to}, signed (Standard Webhooks) with the secret in "
                f"{space.path(workspace.FORWARD_SECRET_FILE)}\n"
            )
        url = f"http://127.0.0.1:{port}"
        ignored = sorted(name for name in os.environ if _shadows_dev_secret(name))
        click.echo(
            f"\nwebhook-server is running at {url} (Postgres on 127.0.0.1:{postgres.port}, kept in {space.directory})\n"
            f"  send a signed test event:  {Path(sys.executable).parent / 'webhook-server'} send stripe --url "
            f"{url}/webhooks/stripe\n"
            f"  (or send {'|'.join(SECRET_VARIABLES)}, each to its own /webhooks/<endpoint>)\n"
            f"  signing secrets:           the dev ones in {space.directory}/<scheme>-webhook-secret\n"
            f"  this database elsewhere:   source {env_file}   (sets DATABASE_URL)\n"
            f"  handlers:                  {env['WEBHOOK_HANDLER_MODULES']} (set WEBHOOK_HANDLER_MODULES)\n"
            f"  spool (Postgres down):     {env['WEBHOOK_SPOOL_DIR']} (set WEBHOOK_SPOOL_DIR)\n"
            f"  dashboard:                 http://127.0.0.1:{dashboard_port}/ password {dashboard_password}\n"
            + forwarding
            + f"  start afresh:              stop, then rm -rf {space.directory}\n"
            "  stop:                      Ctrl-C\n"
            + (f"  not used here:             {', '.join(ignored)} from your environment\n" if ignored else ""),
            err=True,
        )
        sys.exit(_wait_for_first_exit(children))
    except KeyboardInterrupt:
        click.echo("stopping …", err=True)
    finally:
        _stop_all(children)
        postgres.stop()


def _forwarding_env(space: workspace.Workspace, url: str) -> dict[str, str]:
    """The variables of `forward` to ``url`` (the dev destination), checked before anything starts."""
    destinations, secret = space.forward_to(url)
    forward_env = {
        destinations_file.VARIABLE: str(destinations),
        workspace.FORWARD_SECRET_VARIABLE: secret,
        "WEBHOOK_FORWARD_POLL": "1",
    }
    try:
        destinations_file.load(destinations, forward_env)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--forward-to") from None
    return forward_env


def _shadows_dev_secret(name: str) -> bool:
    """A built-in endpoint's secret in the caller's environment (or its _FILE): dev uses its own."""
    return name.removesuffix("_FILE") in SECRET_VARIABLES.values()


class _SendGroup(click.Group):
    """`send <scheme>` for the built-in endpoints, and for each endpoint of WEBHOOK_ENDPOINTS_FILE."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            endpoints = _endpoints()
        except ConfigError:
            endpoints = ()  # a broken file is reported when one of its endpoints is named
        return [*SECRET_VARIABLES, *(spec.name for spec in endpoints)]

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Click's "No such command 'paypal'" did not say which senders there are."""
        name = args[0]
        if not name.startswith("-") and self.get_command(ctx, name) is None:
            ctx.fail(
                f"no sender or endpoint named {name!r}: send one of {', '.join(self.list_commands(ctx))}; "
                "another sender that signs with an HMAC header is an endpoint of WEBHOOK_ENDPOINTS_FILE"
            )
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SECRET_VARIABLES:
            return _send_command(cmd_name, SECRET_VARIABLES[cmd_name], samples.DEFAULT_TYPES[cmd_name])
        try:
            spec = next((spec for spec in _endpoints() if spec.name == cmd_name), None)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        if spec is None:
            return None
        default_type = samples.DEFAULT_TYPES.get(spec.scheme, cmd_name)
        return _send_command(cmd_name, spec.secret_variable, default_type, spec)


@main.group(cls=_SendGroup)
def send() -> None:
    """Sign a realistic sample event and post it, printing status and latency."""


def _send_command(
    name: str, variable: str, default_type: str, spec: endpoints_file.EndpointSpec | None = None
) -> click.Command:
    """The `send <name>` command: the same options for every scheme, each with its own secret."""
    scheme = spec.scheme if spec else name
    secret_help = (
        f"Signing secret (default: the dev server's, {workspace.DEFAULT_DIR}/{workspace.secret_file(name)}; "
        f"without one, {variable})."
        if spec is None
        else f"Signing secret (default: {variable}, the endpoint's secret_env)."
    )
    if scheme in samples.PRIVATE_KEYS:
        secret_help = f"The private key to sign with: {samples.PRIVATE_KEYS[scheme]}."
    if scheme == "standard":
        secret_help += " A whsk_ private key signs asymmetric v1a signatures instead."

    @click.command(name, help=f"Post a {scheme} event to /webhooks/{name}, signed the way that sender signs it.")
    @click.option(
        "--type",
        "event_type",
        default=default_type,
        show_default=True,
        help=f"Event type; {samples.types_help(scheme)}.",
    )
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
    @click.option("--secret", help=secret_help)
    def command(event_type: str, event_id: str | None, url: str, secret: str | None) -> None:
        given = secret is not None
        if secret is None and scheme in samples.PRIVATE_KEYS:
            raise click.UsageError(
                f"{scheme} endpoints hold the sender's public key ({variable}), which cannot sign; pass the "
                f"matching private key with --secret: {samples.PRIVATE_KEYS[scheme]}"
            )
        secret, source = _signing_secret(name, variable, secret, dev=spec is None)
        click.echo(f"signing with {source}", err=True)
        if not samples.has_sample(scheme, event_type):
            click.echo(
                f"note: no {scheme} sample for {event_type!r}; sending a generic object ({samples.types_help(scheme)})",
                err=True,
            )
        if spec is not None and spec.scheme == endpoints_file.HMAC:
            sample = samples.signed_generic_sample(spec, secret, event_type, event_id)
        else:
            try:
                sample = samples.signed_sample(scheme, secret, event_type, event_id, url=url)
            except ValueError as exc:  # a private key that is not one
                advice = "; ".join(filter(None, (str(exc), samples.PRIVATE_KEYS.get(scheme))))
                raise click.UsageError(f"--secret: {advice}") from None
        response = _post(url, sample)
        if response.status_code == 400 and "signature_invalid" in response.text:
            click.echo(_refused_secret_hint(name, source, given=given, dev=spec is None), err=True)
        sys.exit(EXIT_OK if response.ok else EXIT_FAILURE)

    return command


def _refused_secret_hint(name: str, source: str, *, given: bool, dev: bool) -> str:
    """What to do when the server refused the signature: its answer names the variable it reads
    (STRIPE_WEBHOOK_SECRET…), which the dev server never does: it verifies with its own file."""
    dev_secret = workspace.Workspace.from_environ().path(workspace.secret_file(name))
    if dev and given and dev_secret.exists():
        return (
            f"the server refused the signature made with {source}; `webhook-server dev` verifies with "
            f"its own ({dev_secret}): send without --secret"
        )
    return f"the server refused the signature made with {source}: it verifies with another secret"


def _signing_secret(name: str, variable: str, given: str | None, *, dev: bool) -> tuple[str, str]:
    """The secret `send` signs with, and where it came from: --secret, else the dev server's
    (built-in endpoints), else the variable (or its _FILE, or a systemd credential)."""
    candidates: list[tuple[str | None, str]] = [(given, "the secret given with --secret")]
    if dev:
        space = workspace.Workspace.from_environ()
        candidates.append(
            (space.signing_secret(name), f"the dev server's secret ({space.path(workspace.secret_file(name))})")
        )
    try:
        candidates.append((secret_text(os.environ, variable), secret_origin(os.environ, variable)))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    for value, source in candidates:
        first = next(iter(comma_separated(value or "")), "")  # the first, if several
        if first:
            return first, source
    raise click.UsageError(
        f"no signing secret: start `webhook-server dev` first, or pass --secret, or set {variable}"
        if dev
        else f"no signing secret: set {variable} (the endpoint's secret_env) or pass --secret"
    )


def _endpoints() -> tuple[endpoints_file.EndpointSpec, ...]:
    return endpoints_file.from_environ(os.environ, reserved=SECRET_VARIABLES, secrets_required=False)


def _post(url: str, sample: samples.SignedSample) -> requests.Response:
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
    return response


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
main.add_command(forward)
main.add_command(destinations)
main.add_command(dashboard)


def run() -> None:
    """Entry point that maps an unreachable database at start to its exit code."""
    try:
        main()
    except localdb.LocalPostgresError as exc:
        click.echo(f"webhook-server: local Postgres failed: {exc}", err=True)
        sys.exit(EXIT_DATABASE)
