"""``WEBHOOK_DESTINATIONS_FILE``: where ``webhook-server forward`` sends verified events, read once at start.

A TOML file the operator owns, one table per destination, like the endpoints file. The name is
the ``destination`` column of its deliveries and the label of its metrics. Secrets stay out of
the file: ``secret_env`` names the variable (or its ``_FILE``, or a systemd credential) holding
the destination's own Standard Webhooks secret, which signs what we send::

    [destinations.billing-app]
    url = "https://billing.internal/webhooks"
    secret_env = "BILLING_FORWARD_SECRET"       # whsec_<base64>, the destination verifies with it
    endpoints = ["stripe", "stripe-eu"]          # which endpoints' events; default: all of them
    event_types = ["invoice.*", "customer.*"]    # shell-style patterns; default: every type
    pass_headers = ["X-GitHub-Event"]            # stored headers passed on with the body
    concurrency = 8                              # requests in flight to this destination at most
    rate = 50                                    # optional: attempts a second at most (a burst of one second's)
    connect_timeout = "5s"
    timeout = "30s"                              # the whole attempt, connect to last byte
    ca_file = "/etc/ssl/internal-ca.pem"         # verify TLS with this CA instead of the system's
    max_attempts = 12
    max_age = "3d"                               # no attempt after this, counted from receipt
    retry_base = "10s"                           # first wait; doubled each failure up to retry_cap
    retry_cap = "1h"
    pause_after = "10m"                          # all attempts failing this long: paused; "off"
    pause_failures = 20                          # and at least this many of them
    ordered = false                              # true: each endpoint's events one at a time, in order
    transform = "billing.forwarding:slim"        # optional: rewrite or drop each event (forwarder/transforms.py)

    [destinations.event-bus]                     # NATS JetStream: nats:// or tls://, and a subject
    url = "nats://nats.internal:4222"
    subject = "webhooks.payments"
    secret_env = "BUS_FORWARD_SECRET"
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from webhook_server.durations import parse_duration
from webhook_server.environment import Env
from webhook_server.errors import ConfigError
from webhook_server.schemes.headers import is_credential

VARIABLE = "WEBHOOK_DESTINATIONS_FILE"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
HEADER_PATTERN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Headers the forwarder sets itself or that belong to one connection: never copied from the event.
OWN_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "user-agent",
    }
)
KEYS = {
    "url",
    "secret_env",
    "endpoints",
    "event_types",
    "pass_headers",
    "concurrency",
    "connect_timeout",
    "timeout",
    "ca_file",
    "max_attempts",
    "max_age",
    "retry_base",
    "retry_cap",
    "pause_after",
    "pause_failures",
    "subject",
    "ordered",
    "transform",
    "rate",
}
MAX_CONCURRENCY = 64
NATS_SCHEMES = ("nats://", "tls://")
TRANSFORM_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")
# A JetStream subject to publish to: dot-separated tokens, no wildcard, no whitespace.
SUBJECT_PATTERN = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){0,15}")
MAX_URL_CHARS = 2000


@dataclass(frozen=True)
class DestinationSpec:
    """One destination of the file, its secret read from the environment."""

    name: str
    url: str
    secret_variable: str
    secret: str = field(repr=False)
    endpoints: tuple[str, ...] = ()  # empty: every endpoint
    event_types: tuple[str, ...] = ()  # empty: every type
    pass_headers: tuple[str, ...] = ()  # lowercase
    concurrency: int = 8
    connect_timeout: float = 5.0
    timeout: float = 30.0
    ca_file: str | None = None
    max_attempts: int = 12
    max_age: float = 3 * 86400.0
    retry_base: float = 10.0
    retry_cap: float = 3600.0
    pause_after: float | None = 600.0  # None: never paused automatically
    pause_failures: int = 20
    subject: str = ""  # NATS destinations: the JetStream subject published to
    # Each endpoint's events one at a time, in the order stored, a failing one holding back the rest.
    ordered: bool = False
    # "package.module:function" that rewrites or drops each event (webhook_server.forwarder.transforms).
    transform: str | None = None
    rate: float | None = None  # attempts a second at most; None: only the concurrency limits them

    @property
    def is_nats(self) -> bool:
        """A NATS JetStream destination (``nats://`` or ``tls://``) rather than an HTTP one."""
        return self.url.startswith(NATS_SCHEMES)

    def takes(self, endpoint: str, event_type: str) -> bool:
        """Whether an event that came to ``endpoint`` with ``event_type`` goes to this destination.

        ``fnmatchcase``: a pattern means the same on every host (``fnmatch`` folds case on some).
        """
        if self.endpoints and endpoint not in self.endpoints:
            return False
        return not self.event_types or any(fnmatch.fnmatchcase(event_type, p) for p in self.event_types)

    @property
    def lease_seconds(self) -> float:
        """How long a claimed delivery is this process's: longer than any attempt can last, so no renewal."""
        return 2 * self.timeout + 5.0


def from_environ(environ: Mapping[str, str]) -> tuple[DestinationSpec, ...]:
    """The destinations of the file WEBHOOK_DESTINATIONS_FILE names; ConfigError when unset or invalid."""
    path = Env(environ).required(
        VARIABLE, "set it to the TOML file of [destinations.<name>] tables the forwarder sends events to"
    )
    return load(Path(path), environ)


def load(path: Path, environ: Mapping[str, str]) -> tuple[DestinationSpec, ...]:
    """Every destination of the file with its secret; ConfigError names the file, the destination and the key."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(VARIABLE, f"cannot read {path}: {exc.strerror}; the forwarder's user must read it") from None
    except ValueError as exc:  # TOMLDecodeError, UnicodeDecodeError, and an integer of over 4,300 digits
        raise ConfigError(VARIABLE, f"{path} is not valid TOML: {str(exc)[:300]}") from None
    tables = document.get("destinations")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(VARIABLE, f"{path} has no [destinations.<name>] table; add one per application")
    if unknown := sorted(set(document) - {"destinations"}):
        raise ConfigError(VARIABLE, f"{path}: unknown top-level key {unknown[0]!r}; only [destinations.<name>] tables")
    return tuple(_destination(path, name, table, environ) for name, table in tables.items())


def _destination(path: Path, name: str, table: Any, environ: Mapping[str, str]) -> DestinationSpec:
    def problem(text: str) -> ConfigError:
        return ConfigError(VARIABLE, f"{path}, destination {name!r}: {text}")

    if not NAME_PATTERN.fullmatch(name):
        raise problem("the name must be 1-63 lowercase letters, digits, - or _, starting with a letter or digit")
    if not isinstance(table, dict):
        raise problem("must be a table of settings")
    if unknown := sorted(set(table) - KEYS):
        raise problem(f"unknown setting {unknown[0]!r}; the settings are {', '.join(sorted(KEYS))}")
    read = _Reader(table, problem)
    secret_variable = read.text("secret_env")
    secret = Env(environ).secrets(secret_variable)
    if not secret:
        raise problem(
            f"its secret_env {secret_variable} is not set (nor {secret_variable}_FILE, nor a systemd credential); "
            "set it to the destination's Standard Webhooks secret, whsec_ and base64"
        )
    if len(secret) > 1:
        raise problem(f"{secret_variable} holds several secrets; the forwarder signs with one (give the new one)")
    _check_secret(problem, secret_variable, secret[0])
    defaults = DestinationSpec(name="", url="", secret_variable="", secret="")
    timeout = read.seconds("timeout", defaults.timeout, 0.1, 300)
    spec = DestinationSpec(
        name=name,
        url=_url(problem, read.text("url")),
        secret_variable=secret_variable,
        secret=secret[0],
        endpoints=read.names("endpoints", NAME_PATTERN, 'a list of endpoint names, e.g. ["stripe"]'),
        event_types=read.names("event_types", None, 'a list of patterns, e.g. ["invoice.*"]'),
        pass_headers=_pass_headers(problem, read.names("pass_headers", HEADER_PATTERN, "a list of header names")),
        concurrency=read.integer("concurrency", defaults.concurrency, 1, MAX_CONCURRENCY),
        # Unset, it is 5 s or the whole timeout when that is shorter.
        connect_timeout=read.seconds("connect_timeout", min(defaults.connect_timeout, timeout), 0.1, 60),
        timeout=timeout,
        ca_file=_ca_file(problem, table.get("ca_file")),
        max_attempts=read.integer("max_attempts", defaults.max_attempts, 1, 1000),
        max_age=read.seconds("max_age", defaults.max_age, 1, 90 * 86400),
        retry_base=read.seconds("retry_base", defaults.retry_base, 0.01, 86400),
        retry_cap=read.seconds("retry_cap", defaults.retry_cap, 0.01, 7 * 86400),
        pause_after=None if table.get("pause_after") == "off" else read.seconds("pause_after", 600.0, 1, 7 * 86400),
        pause_failures=read.integer("pause_failures", defaults.pause_failures, 1, 1_000_000),
        subject=read.text("subject") if "subject" in table else "",
        ordered=read.flag("ordered"),
        transform=_transform(problem, table.get("transform")),
        rate=None if "rate" not in table else read.number("rate", 0.01, 100_000),
    )
    if spec.is_nats != ("subject" in table):
        raise problem(
            'subject is the JetStream subject of a nats:// or tls:// url, e.g. subject = "webhooks.stripe"'
            if spec.is_nats
            else "subject is for NATS destinations only (url nats://…); remove it"
        )
    if spec.is_nats and not SUBJECT_PATTERN.fullmatch(spec.subject):
        raise problem('subject must be dot-separated letters, digits, - or _, no wildcard, e.g. "webhooks.stripe"')
    if spec.connect_timeout > spec.timeout:
        raise problem(f"connect_timeout {spec.connect_timeout:g} s is above timeout {spec.timeout:g} s; lower it")
    if spec.retry_cap < spec.retry_base:
        raise problem(f"retry_cap {spec.retry_cap:g} s is below retry_base {spec.retry_base:g} s; raise it")
    return spec


class _Reader:
    """Typed reads of one destination's table, each failing with the key and a valid example."""

    def __init__(self, table: dict[str, Any], problem: Callable[[str], ConfigError]) -> None:
        self.table = table
        self.problem = problem

    def text(self, key: str) -> str:
        value = self.table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.problem(f"{key} must be a non-empty string")
        return value.strip()

    def names(self, key: str, pattern: re.Pattern[str] | None, example: str) -> tuple[str, ...]:
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(
            isinstance(item, str) and item and len(item) <= 200 and (pattern is None or pattern.fullmatch(item))
            for item in value
        ):
            raise self.problem(f"{key} must be {example}")
        if pattern is None and any(not item.isprintable() for item in value):
            raise self.problem(f"{key}: a pattern holds a control character; {example}")
        return tuple(value)

    def flag(self, key: str) -> bool:
        value = self.table.get(key, False)
        if not isinstance(value, bool):
            raise self.problem(f"{key} must be true or false (default false)")
        return value

    def number(self, key: str, low: float, high: float) -> float:
        value = self.table.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise self.problem(f"{key} must be a number from {low:g} to {high:g}")
        return float(value)

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.problem(f"{key} must be a whole number from {low} to {high} (default {default})")
        return value

    def seconds(self, key: str, default: float, low: float, high: float) -> float:
        value = self.table.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            seconds = None
        elif isinstance(value, int | float):
            seconds = float(value)
        elif isinstance(value, str):
            duration = _duration(value)
            seconds = None if duration is None else duration.total_seconds()
        else:
            seconds = None
        if seconds is None or not low <= seconds <= high:
            raise self.problem(
                f'{key} must be a duration from {low:g} s to {high:g} s: a number of seconds or "30s", "10m", "3d" '
                f"(default {default:g} s)"
            )
        return seconds


def _duration(text: str) -> timedelta | None:
    return parse_duration(text) if len(text) <= 20 else None


def _url(problem: Callable[[str], ConfigError], url: str) -> str:
    if len(url) > MAX_URL_CHARS or not url.isascii() or not url.isprintable() or " " in url:
        raise problem(f"url must be a URL of printable ASCII, at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        no_port = parts.port == 0
    except ValueError as exc:
        raise problem(f"url is not a valid URL ({exc}); e.g. https://app.internal/webhooks") from None
    if parts.scheme not in ("http", "https", "nats", "tls") or not parts.hostname or no_port:
        raise problem(
            "url must start with http:// or https:// (or nats:// or tls:// for NATS JetStream) and name a host, "
            "e.g. https://app.internal/webhooks"
        )
    if parts.username or parts.password:
        raise problem("url must not hold credentials; the destination verifies our signature instead")
    if parts.fragment:
        raise problem("url must not have a #fragment; it is never sent")
    return url


def _transform(problem: Callable[[str], ConfigError], value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not TRANSFORM_PATTERN.fullmatch(value):
        raise problem('transform must be "package.module:function", e.g. "billing.forwarding:strip_customer"')
    return value


def _ca_file(problem: Callable[[str], ConfigError], value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise problem("ca_file must be the path of a PEM file of CA certificates")
    if not Path(value).is_file():
        raise problem(f"ca_file {value} is not a readable file; give the PEM file of the CA that signed the server")
    return value


def _pass_headers(problem: Callable[[str], ConfigError], names: tuple[str, ...]) -> tuple[str, ...]:
    lowered = tuple(name.lower() for name in names)
    for name in lowered:
        if is_credential(name):
            raise problem(f"pass_headers: {name} carries a credential or signature; it is never stored nor passed on")
        if name in OWN_HEADERS:
            raise problem(f"pass_headers: {name} is set by the forwarder itself; remove it")
    return lowered


def _check_secret(problem: Callable[[str], ConfigError], variable: str, secret: str) -> None:
    """The Standard Webhooks form, so that a typo fails the start and not every delivery."""
    encoded = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        raise problem(
            f"{variable} is not a Standard Webhooks secret (whsec_ then base64 of 24 to 64 random bytes); "
            "make one with: python3 -c \"import base64,os;print('whsec_'+base64.b64encode(os.urandom(32)).decode())\""
        )
    if len(key) < 16:
        raise problem(f"{variable} is {len(key)} bytes after base64; use at least 16 random bytes (32 recommended)")
