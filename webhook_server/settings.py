"""One frozen settings object, read from the environment and validated once at start.

Every value has a default that is safe in production except the two that cannot have one:
``DATABASE_URL`` and the secret of at least one endpoint (an endpoint without one is off).
A bad value stops the server before it binds, with a message that names the variable and says what to put there.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from webhook_server import db, endpoints_file
from webhook_server.circuit import DEFAULT_FAILURE_THRESHOLD, DEFAULT_PROBE_INTERVAL
from webhook_server.endpoints_file import EndpointSpec
from webhook_server.environment import Env
from webhook_server.errors import ConfigError
from webhook_server.retention.prune import DEFAULT_RETENTION, parse_retention
from webhook_server.schemes import adyen, discord, sendgrid, standard, stripe
from webhook_server.schemes.headers import STORE_VARIABLE, refuse_credentials

# The master needs this much of the cap after the drain to SIGKILL stuck workers, reap them
# and exit; measured at about 0.1 s on a busy 2-core machine, so 1 s leaves room.
EXIT_MARGIN_SECONDS = 1.0
# The least time in-flight requests get to finish once the listeners close.
MIN_DRAIN_SECONDS = 1.0
# systemd SIGKILLs a unit still running TimeoutStopSec after its SIGTERM; the cap must end first,
# with this much left for the interpreter's own exit.
SYSTEMD_STOP_MARGIN_SECONDS = 1.0
# The smallest spool worth having: a few events of the largest body (WEBHOOK_MAX_BODY_BYTES' default).
MIN_SPOOL_BYTES = 4 * 1024 * 1024
# The built-in endpoints by route name, and the variable holding each one's secret(s).
SECRET_VARIABLES = {
    "stripe": "STRIPE_WEBHOOK_SECRET",
    "github": "GITHUB_WEBHOOK_SECRET",
    "shopify": "SHOPIFY_WEBHOOK_SECRET",
    "slack": "SLACK_SIGNING_SECRET",
    "standard": "STANDARD_WEBHOOKS_SECRET",
}


@dataclass(frozen=True)
class Settings:
    """Everything the server reads from the environment."""

    database_url: str
    # Per built-in endpoint, its secrets (two or more during a rotation); none means it is off.
    stripe_secrets: tuple[str, ...] = field(default=(), repr=False)
    github_secrets: tuple[str, ...] = field(default=(), repr=False)
    shopify_secrets: tuple[str, ...] = field(default=(), repr=False)
    slack_secrets: tuple[str, ...] = field(default=(), repr=False)
    standard_secrets: tuple[str, ...] = field(default=(), repr=False)
    endpoints: tuple[EndpointSpec, ...] = ()
    # WEBHOOK_STORE_HEADERS: headers stored with every endpoint's events, beside each scheme's own.
    store_headers: tuple[str, ...] = ()
    bind: str = "127.0.0.1:8000"
    shutdown_cap: float = 10.0
    drain_announce: float = 3.0
    max_body_bytes: int = 1024 * 1024
    db_timeout: float = 1.5
    db_circuit_failures: int = DEFAULT_FAILURE_THRESHOLD
    db_probe_interval: float = DEFAULT_PROBE_INTERVAL
    workers: int = 2
    threads: int = 8
    log_level: str = "info"
    read_timeout: float = 10.0
    # WEBHOOK_MAIN_LOOP=off: every request goes to a request thread, as in stock gthread
    # (web/main_loop.py): the reference the main loop's answers are tested against, and a way
    # out should it ever misbehave.
    main_loop: bool = True
    # Where verified events wait while Postgres cannot commit them (webhook_server.spool); None: 503.
    spool_dir: Path | None = None
    spool_max_bytes: int = 1024 * 1024 * 1024

    @property
    def builtin_secrets(self) -> dict[str, tuple[str, ...]]:
        """The built-in endpoints' secrets by route name."""
        return {name: getattr(self, f"{name}_secrets") for name in SECRET_VARIABLES}

    @property
    def graceful_timeout(self) -> int:
        """What gunicorn's ``graceful_timeout`` must be for SIGTERM → exit to fit in the cap.

        gunicorn counts it from the start of its stop, which begins after the announce, and
        takes whole seconds: rounding down keeps the sum inside the cap.
        """
        return math.floor(self.shutdown_cap - self.drain_announce - EXIT_MARGIN_SECONDS)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the environment; raise ConfigError naming the first bad variable."""
        env = Env(os.environ if environ is None else environ)
        settings = cls(
            database_url=env.required_secret(
                "DATABASE_URL",
                "set it to the Postgres URL, e.g. postgresql://user:pass@host:5432/webhooks "
                "(or run `webhook-server dev` for a local database)",
            ),
            **_endpoints(env),
            store_headers=_store_headers(env),
            bind=env.text("WEBHOOK_BIND", cls.bind),
            shutdown_cap=env.number("WEBHOOK_SHUTDOWN_CAP", cls.shutdown_cap, minimum=3.0),
            drain_announce=env.number("WEBHOOK_DRAIN_ANNOUNCE", _default_announce(env), minimum=0.0),
            max_body_bytes=int(env.number("WEBHOOK_MAX_BODY_BYTES", cls.max_body_bytes, minimum=1024)),
            db_timeout=env.number("WEBHOOK_DB_TIMEOUT", cls.db_timeout, minimum=0.1),
            db_circuit_failures=int(env.number("WEBHOOK_DB_CIRCUIT_FAILURES", cls.db_circuit_failures, minimum=1)),
            db_probe_interval=env.number("WEBHOOK_DB_PROBE_INTERVAL", cls.db_probe_interval, minimum=0.05),
            workers=int(env.number("WEBHOOK_WORKERS", cls.workers, minimum=1)),
            threads=int(env.number("WEBHOOK_THREADS", cls.threads, minimum=1)),
            log_level=env.choice("WEBHOOK_LOG_LEVEL", cls.log_level, ("debug", "info", "warning", "error")),
            read_timeout=env.number("WEBHOOK_READ_TIMEOUT", cls.read_timeout, minimum=1.0),
            main_loop=env.choice("WEBHOOK_MAIN_LOOP", "on", ("on", "off")) == "on",
            spool_dir=env.private_directory(
                "WEBHOOK_SPOOL_DIR",
                "create it, owned by the user the server runs as (systemd: StateDirectory=), "
                "or unset it to answer 503 while Postgres is down",
            ),
            spool_max_bytes=int(env.number("WEBHOOK_SPOOL_MAX_BYTES", cls.spool_max_bytes, minimum=MIN_SPOOL_BYTES)),
        )
        db.pooled(environ)  # a wrong WEBHOOK_DB_POOLER stops the start, not the first connection
        _check_systemd_stop_timeout(env, settings.shutdown_cap)
        if settings.graceful_timeout < MIN_DRAIN_SECONDS:
            longest = settings.shutdown_cap - EXIT_MARGIN_SECONDS - MIN_DRAIN_SECONDS
            raise ConfigError(
                "WEBHOOK_DRAIN_ANNOUNCE",
                f"{settings.drain_announce:g} s leaves no time to drain in-flight requests within "
                f"WEBHOOK_SHUTDOWN_CAP={settings.shutdown_cap:g} s; use at most {longest:g} s "
                "or raise the cap",
            )
        return settings


def _check_systemd_stop_timeout(env: Env, shutdown_cap: float) -> None:
    """Under systemd (which sets INVOCATION_ID), refuse a cap the unit's TimeoutStopSec would cut short.

    A process cannot read its unit's TimeoutStopSec, so the shipped units pass it in
    WEBHOOK_SYSTEMD_TIMEOUT_STOP; without it nothing is checked.
    """
    if not env.text("INVOCATION_ID", ""):
        return
    timeout_stop = env.number("WEBHOOK_SYSTEMD_TIMEOUT_STOP", math.inf, minimum=1.0)
    if shutdown_cap > timeout_stop - SYSTEMD_STOP_MARGIN_SECONDS:
        raise ConfigError(
            "WEBHOOK_SHUTDOWN_CAP",
            f"{shutdown_cap:g} s does not end {SYSTEMD_STOP_MARGIN_SECONDS:g} s before the unit's "
            f"TimeoutStopSec={timeout_stop:g} (WEBHOOK_SYSTEMD_TIMEOUT_STOP): systemd would SIGKILL the "
            f"shutdown midway; lower the cap to at most {timeout_stop - SYSTEMD_STOP_MARGIN_SECONDS:g} s, or raise "
            "TimeoutStopSec and WEBHOOK_SYSTEMD_TIMEOUT_STOP together in the unit",
        )


def _default_announce(env: Env) -> float:
    """No announce under socket activation (systemd passes LISTEN_FDS): the socket outlives the
    process and the next one accepts from it, so there is no balancer to tell and no reason to wait.
    """
    return 0.0 if env.text("LISTEN_FDS", "") else Settings.drain_announce


# The schemes whose secrets have a form that can be checked at start (a prefix, a key's encoding).
CHECKS = {
    "stripe": stripe.check_secrets,
    "standard": standard.check_secrets,
    "clerk": standard.check_secrets,
    "resend": standard.check_secrets,
    "discord": discord.check_secrets,
    "adyen": adyen.check_secrets,
    "sendgrid": sendgrid.check_secrets,
}


def _store_headers(env: Env) -> tuple[str, ...]:
    names = env.items(STORE_VARIABLE)
    if bad := [name for name in names if not endpoints_file.HEADER_PATTERN.fullmatch(name)]:
        raise ConfigError(STORE_VARIABLE, f"{bad[0]!r} is not an HTTP header name; give comma-separated names")
    refuse_credentials(names, STORE_VARIABLE)
    return names


def _endpoints(env: Env) -> dict[str, Any]:
    """The built-in endpoints' secrets and the file's endpoints; at least one must be configured."""
    fields: dict[str, Any] = {f"{name}_secrets": env.secrets(variable) for name, variable in SECRET_VARIABLES.items()}
    fields["endpoints"] = endpoints_file.from_environ(env.environ, reserved=SECRET_VARIABLES)
    schemes = [(name, variable, fields[f"{name}_secrets"]) for name, variable in SECRET_VARIABLES.items()]
    schemes += [(spec.scheme, spec.secret_variable, spec.secrets) for spec in fields["endpoints"]]
    for scheme, variable, secrets in schemes:
        check = CHECKS.get(scheme)
        if check is not None:
            check(secrets, variable)
    if not any(fields.values()):
        variables = [*SECRET_VARIABLES.values(), endpoints_file.VARIABLE]
        raise ConfigError(
            f"{', '.join(variables[:-1])} or {variables[-1]}",
            "none is set; set the signing secret of at least one endpoint (comma-separated during a "
            "rotation); an endpoint without one is off, its /webhooks/<name> answering 404",
        )
    return fields


_DEFAULT_RETENTION = parse_retention(DEFAULT_RETENTION)


@dataclass(frozen=True)
class WorkerSettings:
    """What ``webhook-server worker`` reads from the environment; no signing secret needed.

    The defaults retry a failing event for about a day (see webhook_server.worker.retries) and stop
    within the same cap as the server.
    """

    database_url: str
    handler_modules: tuple[str, ...]
    concurrency: int = 8
    batch_size: int = 100
    poll_interval: float = 5.0
    max_attempts: int = 10
    retry_base: float = 180.0
    retry_cap: float = 12 * 3600.0
    handler_timeout: float = 30.0
    lease_seconds: float = 60.0
    shutdown_cap: float = 10.0
    db_timeout: float = 5.0
    # Where the worker's own /metrics listens; None: no endpoint.
    metrics_bind: tuple[str, int] | None = None
    # Finished events older than this are deleted by the worker's pruner; None keeps them all.
    retention: timedelta | None = _DEFAULT_RETENTION

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WorkerSettings:
        """Read and validate the environment; raise ConfigError naming the first bad variable."""
        env = Env(os.environ if environ is None else environ)
        env.required(
            "WEBHOOK_HANDLER_MODULES",
            "set it to the comma-separated import paths of the modules that register handlers "
            "with @handles (e.g. my_app.webhook_handlers); without any, every event would be skipped",
        )
        settings = cls(
            database_url=env.required_secret(
                "DATABASE_URL", "set it to the Postgres URL the server stores events in, e.g. postgresql://…/webhooks"
            ),
            handler_modules=env.items("WEBHOOK_HANDLER_MODULES"),
            concurrency=int(env.number("WEBHOOK_WORKER_CONCURRENCY", cls.concurrency, minimum=1)),
            batch_size=int(env.number("WEBHOOK_WORKER_BATCH", cls.batch_size, minimum=1)),
            poll_interval=env.number("WEBHOOK_WORKER_POLL", cls.poll_interval, minimum=0.05),
            max_attempts=int(env.number("WEBHOOK_MAX_ATTEMPTS", cls.max_attempts, minimum=1)),
            retry_base=env.number("WEBHOOK_RETRY_BASE", cls.retry_base, minimum=0.0),
            retry_cap=env.number("WEBHOOK_RETRY_CAP", cls.retry_cap, minimum=0.0),
            handler_timeout=env.number("WEBHOOK_HANDLER_TIMEOUT", cls.handler_timeout, minimum=0.01),
            lease_seconds=env.number("WEBHOOK_LEASE_SECONDS", cls.lease_seconds, minimum=1.0),
            shutdown_cap=env.number("WEBHOOK_SHUTDOWN_CAP", cls.shutdown_cap, minimum=3.0),
            db_timeout=env.number("WEBHOOK_DB_TIMEOUT", cls.db_timeout, minimum=0.1),
            metrics_bind=env.address("WEBHOOK_WORKER_METRICS_BIND"),
            retention=_retention(env),
        )
        db.pooled(environ)  # a wrong WEBHOOK_DB_POOLER stops the start, not the first connection
        _check_systemd_stop_timeout(env, settings.shutdown_cap)
        if settings.retry_cap < settings.retry_base:
            raise ConfigError(
                "WEBHOOK_RETRY_CAP",
                f"{settings.retry_cap:g} s is below WEBHOOK_RETRY_BASE={settings.retry_base:g} s; "
                "the cap is the longest wait, so make it at least the base",
            )
        if settings.db_timeout >= settings.lease_seconds / 3:
            raise ConfigError(
                "WEBHOOK_LEASE_SECONDS",
                f"{settings.lease_seconds:g} s leaves no room to renew a lease with "
                f"WEBHOOK_DB_TIMEOUT={settings.db_timeout:g} s; make it more than 3 times the timeout",
            )
        return settings


def _retention(env: Env) -> timedelta | None:
    raw = env.text("WEBHOOK_RETENTION", DEFAULT_RETENTION)
    try:
        return parse_retention(raw)
    except ValueError as exc:
        raise ConfigError(
            "WEBHOOK_RETENTION", f"{exc}: how long finished events are kept (default {DEFAULT_RETENTION})"
        ) from None
