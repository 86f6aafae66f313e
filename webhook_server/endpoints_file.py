"""``WEBHOOK_ENDPOINTS_FILE``: named endpoints of any scheme, read and validated once at start.

A TOML file with one table per endpoint; the name is its route (``/webhooks/<name>``) and
the ``endpoint`` column of its events. Secrets stay in the environment (or a ``_FILE``, or a
systemd credential), named by ``secret_env``. ``scheme`` picks the verification and the id and
type rules: a sender's own (``stripe``, ``github``, ``shopify``, ``slack``, ``standard``), so
one company can receive from two Stripe accounts, or ``hmac`` (the default), a generic HMAC of
the body described by the table itself::

    [endpoints.stripe-eu]
    scheme = "stripe"
    secret_env = "STRIPE_EU_WEBHOOK_SECRET"   # comma-separated secrets during a rotation
    api_key_env = "STRIPE_EU_API_KEY"         # stripe only: `reconcile stripe --endpoint stripe-eu`
    store_headers = ["X-Request-Id"]          # optional, beside the scheme's own and WEBHOOK_STORE_HEADERS

    [endpoints.meetings]
    scheme = "zoom"
    secret_env = "ZOOM_SECRET_TOKEN"
    event_id = "json:payload.object.uuid"     # any scheme: the dedupe key, instead of the scheme's own
    tolerance = 600                           # a scheme that signs a time: its window, in seconds

    [endpoints.acme]                          # scheme "hmac"
    secret_env = "ACME_WEBHOOK_SECRET"
    header = "X-Acme-Signature"
    algorithm = "sha256"                      # sha1, sha256 or sha512
    encoding = "hex"                          # or "base64"
    prefix = "sha256="                        # optional
    event_id = "header:X-Acme-Delivery"       # or "json:data.id"; default: the body's SHA-256
    event_type = ["header:X-Acme-Event", "json:type"]  # a list: all must be there and agree
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from webhook_server.environment import Env
from webhook_server.errors import ConfigError
from webhook_server.schemes.generic import Source
from webhook_server.schemes.headers import is_credential
from webhook_server.schemes.signing import ALGORITHMS, ENCODINGS

VARIABLE = "WEBHOOK_ENDPOINTS_FILE"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# An HTTP header name (RFC 9110 token) and a dotted path of JSON object keys.
HEADER_PATTERN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
PATH_PATTERN = re.compile(r"[^.]+(\.[^.]+)*")
HMAC = "hmac"
# The built-in schemes (each also a route of its own with its variable: settings.SECRET_VARIABLES),
# then those an endpoint of this file names (webhook_server.endpoints has their verifiers).
BUILT_IN_SCHEMES = ("stripe", "github", "shopify", "slack", "standard")
FILE_SCHEMES = (
    "twilio",
    "discord",
    "sendgrid",
    "clerk",
    "resend",
    "hubspot",
    "adyen",
    "square",
    "paddle",
    "zoom",
    "twitch",
    "gitlab",
    "mailgun",
    "bitbucket",
    "jira",
    "intercom",
    "linear",
    "typeform",
    "woocommerce",
    "calendly",
    "zendesk",
)
SCHEMES = (*BUILT_IN_SCHEMES, *FILE_SCHEMES, HMAC)
# event_id: every scheme's endpoint may name its dedupe key (schemes/dedupe.py; the generic one's own).
COMMON_KEYS = {"scheme", "secret_env", "store_headers", "event_id"}
# What each scheme may set beside the common keys; the others would be ignored, so they are refused.
SCHEME_KEYS = {
    HMAC: {"header", "algorithm", "encoding", "prefix", "event_id", "event_type"},
    "stripe": {"api_key_env"},
}
# The schemes that sign a time, whose window (each sender's documented one by default) an
# endpoint may change with `tolerance = <seconds>`.
WINDOWED = frozenset(
    {"stripe", "slack", "standard", "clerk", "resend", "discord", "hubspot", "paddle", "zoom", "twitch"}
    | {"mailgun", "linear", "calendly", "zendesk"}
)
# A window longer than a day would let a captured delivery be replayed for days.
MAX_TOLERANCE_SECONDS = 86400


@dataclass(frozen=True)
class EndpointSpec:
    """One endpoint of the file. The HMAC fields are used by scheme "hmac" only."""

    name: str
    secret_variable: str
    secrets: tuple[str, ...] = field(repr=False)
    scheme: str = HMAC
    header: str = ""
    algorithm: str = "sha256"
    encoding: str = "hex"
    prefix: str = ""
    # Where the id and the type are read; with several, all must agree. None: the defaults.
    event_id: tuple[Source, ...] | None = None
    event_type: tuple[Source, ...] | None = None
    # Stripe endpoints: the variable holding the API key `reconcile stripe --endpoint` uses.
    api_key_variable: str | None = None
    store_headers: tuple[str, ...] = ()
    # The replay window in seconds, for the schemes that sign a time; None: the sender's own.
    tolerance: float | None = None

    @property
    def stored_scheme(self) -> str:
        """What its events are stored and handled under (``Event.scheme``, ``@handles``' first
        argument): the scheme, so "stripe" covers every Stripe endpoint; a generic HMAC endpoint
        is a sender of its own, named as the endpoint."""
        return self.name if self.scheme == HMAC else self.scheme


def from_environ(
    environ: Mapping[str, str], *, reserved: Collection[str], secrets_required: bool = True
) -> tuple[EndpointSpec, ...]:
    """The endpoints of the file WEBHOOK_ENDPOINTS_FILE names, or none when it is not set."""
    path = Env(environ).text(VARIABLE, "")
    return load(Path(path), environ, reserved=reserved, secrets_required=secrets_required) if path else ()


def load(
    path: Path, environ: Mapping[str, str], *, reserved: Collection[str], secrets_required: bool = True
) -> tuple[EndpointSpec, ...]:
    """Every endpoint of the file, with its secrets; ConfigError names the file and the endpoint.

    ``secrets_required=False`` is for commands that only need the file's other settings (an
    operator's `reconcile stripe --endpoint` has the API key, not the signing secrets).
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(VARIABLE, f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:  # TOMLDecodeError, UnicodeDecodeError, and an integer of over 4,300 digits
        raise ConfigError(VARIABLE, f"{path} is not valid TOML: {str(exc)[:300]}") from None
    endpoints = document.get("endpoints")
    if not isinstance(endpoints, dict) or not endpoints:
        raise ConfigError(VARIABLE, f"{path} has no [endpoints.<name>] table")
    return tuple(_endpoint(path, name, table, environ, reserved, secrets_required) for name, table in endpoints.items())


def _endpoint(
    path: Path, name: str, table: Any, environ: Mapping[str, str], reserved: Collection[str], secrets_required: bool
) -> EndpointSpec:
    def problem(text: str) -> ConfigError:
        return ConfigError(VARIABLE, f"{path}, endpoint {name!r}: {text}")

    if not NAME_PATTERN.fullmatch(name):
        raise problem("the name must be lowercase letters, digits, - or _ (it is the route /webhooks/<name>)")
    if name in reserved:
        raise problem(f"the name is a built-in endpoint's ({', '.join(sorted(reserved))}); choose another")
    if not isinstance(table, dict):
        raise problem("must be a table of settings")

    def text(key: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or (default is None and not value):
            raise problem(f"{key} must be a {'non-empty ' if default is None else ''}string")
        return value

    scheme = text("scheme", HMAC).lower()
    if scheme not in SCHEMES:
        raise problem(f"unknown scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    # Any scheme may name its dedupe key (event_id); the generic one reads its type the same way.
    allowed = (
        COMMON_KEYS | {"event_id"} | SCHEME_KEYS.get(scheme, set()) | ({"tolerance"} if scheme in WINDOWED else set())
    )
    if unknown := sorted(set(table) - allowed):
        raise problem(
            f"unknown setting {', '.join(unknown)} for scheme {scheme!r}; its settings are {', '.join(sorted(allowed))}"
        )
    env = Env(environ)
    secret_variable = text("secret_env")
    secrets = env.secrets(secret_variable)
    if not secrets and secrets_required:
        raise problem(
            f"its secret_env {secret_variable} is not set (nor {secret_variable}_FILE, nor a systemd credential); "
            "set it to the secret the sender signs with"
        )
    spec = EndpointSpec(
        name=name,
        secret_variable=secret_variable,
        secrets=secrets,
        scheme=scheme,
        api_key_variable=text("api_key_env") if "api_key_env" in table else None,
        store_headers=_header_names(problem, table.get("store_headers", [])),
        tolerance=_tolerance(problem, table.get("tolerance")),
        event_id=_source(problem, "event_id", table.get("event_id")),
    )
    if scheme != HMAC:
        return spec
    header = text("header")
    if not HEADER_PATTERN.fullmatch(header):
        raise problem(f"header {header!r} is not a valid HTTP header name")
    algorithm = text("algorithm", "sha256").lower()
    if algorithm not in ALGORITHMS:
        raise problem(f"unknown algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    encoding = text("encoding", "hex").lower()
    if encoding not in ENCODINGS:
        raise problem(f"unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")
    return replace(
        spec,
        header=header,
        algorithm=algorithm,
        encoding=encoding,
        prefix=text("prefix", ""),
        event_type=_source(problem, "event_type", table.get("event_type")),
    )


def _tolerance(problem: Callable[[str], ConfigError], value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_TOLERANCE_SECONDS:
        raise problem(f"tolerance must be a number of seconds above 0 and at most {MAX_TOLERANCE_SECONDS}")
    return float(value)


def _header_names(problem: Callable[[str], ConfigError], value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(n, str) and HEADER_PATTERN.fullmatch(n) for n in value):
        raise problem('store_headers must be a list of HTTP header names, e.g. ["X-Request-Id"]')
    if credentials := [name for name in value if is_credential(name)]:
        raise problem(f"store_headers: {credentials[0]} carries a credential or signature and is never stored")
    return tuple(value)


def _source(problem: Callable[[str], ConfigError], key: str, value: Any) -> tuple[Source, ...] | None:
    """One source, or a list of sources that must agree (a header cross-checked with the body)."""
    if value is None:
        return None
    values = value if isinstance(value, list) and value else [value]
    sources = []
    for item in values:
        kind, _, location = item.partition(":") if isinstance(item, str) else ("", "", "")
        pattern = {"header": HEADER_PATTERN, "json": PATH_PATTERN}.get(kind)
        if pattern is None or not pattern.fullmatch(location):
            raise problem(
                f'{key} must be "header:<Header-Name>" or "json:<dotted.path>", or a list of them that must agree'
            )
        sources.append(Source(kind, location))
    return tuple(sources)
