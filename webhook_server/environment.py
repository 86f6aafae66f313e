"""Typed reads of environment variables, each failing with a ConfigError that names the variable."""

from __future__ import annotations

from collections.abc import Mapping

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
