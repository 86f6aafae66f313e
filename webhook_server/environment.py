"""Typed reads of environment variables, each failing with a ConfigError that names the variable."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from webhook_server.errors import ConfigError


def comma_separated(raw: str) -> tuple[str, ...]:
    """The items of a comma-separated value, stripped, blanks dropped."""
    return tuple(part.strip() for part in raw.split(",") if part.strip())


class Env:
    """Typed reads of the environment that fail with the variable's name."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def text(self, name: str, default: str) -> str:
        value = self.environ.get(name, "").strip()
        return value or default

    def required(self, name: str, how_to_fix: str) -> str:
        value = self.environ.get(name, "").strip()
        if not value:
            raise ConfigError(name, f"not set; {how_to_fix}")
        return value

    def items(self, name: str) -> tuple[str, ...]:
        """A comma-separated list (secrets during a rotation, module paths)."""
        return comma_separated(self.environ.get(name, ""))

    def writable_directory(self, name: str, how_to_fix: str) -> Path | None:
        """A directory that exists or can be created and that this process can write in; None when unset."""
        raw = self.text(name, "")
        if not raw:
            return None
        path = Path(raw).resolve()
        try:
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=path):
                pass
        except OSError as exc:
            problem = f"{raw} is not a directory this process can write in ({exc.strerror or exc})"
            raise ConfigError(name, f"{problem}; {how_to_fix}") from None
        return path

    def number(self, name: str, default: float, *, minimum: float) -> float:
        raw = self.environ.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(name, f"{raw!r} is not a number (default {default:g})") from None
        if not value >= minimum:  # also rejects NaN
            raise ConfigError(name, f"{raw} is below the minimum of {minimum:g} (default {default:g})")
        return value

    def address(self, name: str) -> tuple[str, int] | None:
        """``host:port`` to listen on (port 0: any free one), or None when not set."""
        raw = self.text(name, "")
        if not raw:
            return None
        host, _, port = raw.rpartition(":")
        if not host or not (port.isascii() and port.isdigit() and int(port) <= 65535):
            raise ConfigError(name, f"{raw!r} is not host:port, e.g. 127.0.0.1:9101")
        return host.strip("[]"), int(port)

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.text(name, default).lower()
        if value not in allowed:
            raise ConfigError(name, f"{value!r} is not one of {', '.join(allowed)}")
        return value
