"""``WEBHOOK_ENDPOINTS_FILE``: generic HMAC endpoints, read and validated once at start.

A TOML file with one table per endpoint; the name is its route (``/webhooks/<name>``) and
its ``provider`` column. Secrets stay in the environment, named by ``secret_env``::

    [endpoints.acme]
    secret_env = "ACME_WEBHOOK_SECRET"    # comma-separated secrets during a rotation
    header = "X-Acme-Signature"
    algorithm = "sha256"                  # sha1, sha256 or sha512
    encoding = "hex"                      # or "base64"
    prefix = "sha256="                    # optional
    event_id = "header:X-Acme-Delivery"   # or "json:data.id"; default: the body's SHA-256
    event_type = ["header:X-Acme-Event", "json:type"]  # a list: all must be there and agree
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webhook_server.environment import Env
from webhook_server.errors import ConfigError
from webhook_server.providers.signing import ALGORITHMS, ENCODINGS

VARIABLE = "WEBHOOK_ENDPOINTS_FILE"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# An HTTP header name (RFC 9110 token) and a dotted path of JSON object keys.
HEADER_PATTERN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
PATH_PATTERN = re.compile(r"[^.]+(\.[^.]+)*")
KEYS = {"secret_env", "header", "algorithm", "encoding", "prefix", "event_id", "event_type"}


@dataclass(frozen=True)
class Source:
    """Where a value is read: ``kind`` "header" (a header name) or "json" (a dotted path)."""

    kind: str
    location: str


@dataclass(frozen=True)
class EndpointSpec:
    name: str
    header: str
    algorithm: str
    encoding: str
    prefix: str
    # Where the id and the type are read; with several, all must agree. None: the defaults.
    event_id: tuple[Source, ...] | None
    event_type: tuple[Source, ...] | None
    secret_variable: str
    secrets: tuple[str, ...] = field(repr=False)


def from_environ(environ: Mapping[str, str], *, reserved: Collection[str]) -> tuple[EndpointSpec, ...]:
    """The endpoints of the file WEBHOOK_ENDPOINTS_FILE names, or none when it is not set."""
    path = Env(environ).text(VARIABLE, "")
    return load(Path(path), environ, reserved=reserved) if path else ()


def load(path: Path, environ: Mapping[str, str], *, reserved: Collection[str]) -> tuple[EndpointSpec, ...]:
    """Every endpoint of the file, with its secrets; ConfigError names the file and the endpoint."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(VARIABLE, f"cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(VARIABLE, f"{path} is not valid TOML: {exc}") from None
    endpoints = document.get("endpoints")
    if not isinstance(endpoints, dict) or not endpoints:
        raise ConfigError(VARIABLE, f"{path} has no [endpoints.<name>] table")
    return tuple(_endpoint(path, name, table, environ, reserved) for name, table in endpoints.items())


def _endpoint(path: Path, name: str, table: Any, environ: Mapping[str, str], reserved: Collection[str]) -> EndpointSpec:
    def problem(text: str) -> ConfigError:
        return ConfigError(VARIABLE, f"{path}, endpoint {name!r}: {text}")

    if not NAME_PATTERN.fullmatch(name):
        raise problem("the name must be lowercase letters, digits, - or _ (it is the route /webhooks/<name>)")
    if name in reserved:
        raise problem(f"the name is a built-in provider's ({', '.join(sorted(reserved))}); choose another")
    if not isinstance(table, dict):
        raise problem("must be a table of settings")
    if unknown := sorted(set(table) - KEYS):
        raise problem(f"unknown setting {', '.join(unknown)}; the settings are {', '.join(sorted(KEYS))}")

    def text(key: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or (default is None and not value):
            raise problem(f"{key} must be a {'non-empty ' if default is None else ''}string")
        return value

    header = text("header")
    if not HEADER_PATTERN.fullmatch(header):
        raise problem(f"header {header!r} is not a valid HTTP header name")
    algorithm = text("algorithm", "sha256").lower()
    if algorithm not in ALGORITHMS:
        raise problem(f"unknown algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    encoding = text("encoding", "hex").lower()
    if encoding not in ENCODINGS:
        raise problem(f"unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")
    secret_variable = text("secret_env")
    secrets = Env(environ).items(secret_variable)
    if not secrets:
        raise problem(f"its secret_env {secret_variable} is not set; set it to the secret the sender signs with")
    return EndpointSpec(
        name=name,
        header=header,
        algorithm=algorithm,
        encoding=encoding,
        prefix=text("prefix", ""),
        event_id=_source(problem, "event_id", table.get("event_id")),
        event_type=_source(problem, "event_type", table.get("event_type")),
        secret_variable=secret_variable,
        secrets=secrets,
    )


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
