"""Typed reads of environment variables, each failing with a ConfigError that names the variable.

Secrets have three sources, so they can stay out of ``env`` dumps, ``/proc/<pid>/environ`` and
crash reports: the variable itself (``STRIPE_WEBHOOK_SECRET``), a file it names with the
``_FILE`` suffix (``STRIPE_WEBHOOK_SECRET_FILE=/run/secrets/stripe``, as container secrets are
mounted), or a systemd credential of the same name (``LoadCredential=STRIPE_WEBHOOK_SECRET``,
read from ``$CREDENTIALS_DIRECTORY``). A file holds what the variable would: comma-separated
secrets during a rotation (one a line works too).
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from webhook_server.errors import ConfigError

FILE_SUFFIX = "_FILE"
# Where systemd puts the credentials of LoadCredential= / SetCredential= for the service.
CREDENTIALS_DIRECTORY = "CREDENTIALS_DIRECTORY"
_SEPARATORS = re.compile(r"[,\n]")


def comma_separated(raw: str) -> tuple[str, ...]:
    """The items of a comma-separated value (or one a line, as in a secret file), stripped, blanks dropped."""
    return tuple(part.strip() for part in _SEPARATORS.split(raw) if part.strip())


def secret_text(environ: Mapping[str, str], name: str) -> str:
    """A secret's raw value: NAME, else the file NAME_FILE names, else the systemd credential NAME.

    Setting both NAME and NAME_FILE is refused: one of them would be ignored without a word. A
    named file that cannot be read, or is empty, stops the start with the file named.
    """
    value = environ.get(name, "").strip()
    file_variable = name + FILE_SUFFIX
    path = environ.get(file_variable, "").strip()
    if value and path:
        raise ConfigError(file_variable, f"both {name} and {file_variable} are set; keep one")
    if value:
        return value
    if path:
        return _read_secret_file(file_variable, Path(path))
    credentials = environ.get(CREDENTIALS_DIRECTORY, "").strip()
    if credentials and (Path(credentials) / name).is_file():
        return _read_secret_file(f"{CREDENTIALS_DIRECTORY}/{name}", Path(credentials) / name)
    return ""


def secret_origin(environ: Mapping[str, str], name: str) -> str:
    """Where ``secret_text`` finds the secret ``name``, for messages that say which one was used."""
    if environ.get(name, "").strip():
        return f"{name} from the environment"
    if path := environ.get(name + FILE_SUFFIX, "").strip():
        return f"{name} from {name}{FILE_SUFFIX} ({path})"
    return f"{name} from the systemd credential ({environ.get(CREDENTIALS_DIRECTORY, '').strip()}/{name})"


def _read_secret_file(variable: str, path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(
            variable, f"cannot read {path}: {reason}; the service's user must be able to read it"
        ) from None
    if not text:
        raise ConfigError(variable, f"{path} is empty; put the secret in it (comma-separated during a rotation)")
    return text


class Env:
    """Typed reads of the environment that fail with the variable's name."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def text(self, name: str, default: str) -> str:
        value = self.environ.get(name, "").strip()
        return value or default

    def required(self, name: str, how_to_fix: str) -> str:
        value = self.environ.get(name, "").strip()
        if not value:
            raise ConfigError(name, f"not set; {how_to_fix}")
        return value

    def required_secret(self, name: str, how_to_fix: str) -> str:
        """A secret that must be set, from the variable, NAME_FILE or a systemd credential."""
        value = secret_text(self.environ, name)
        if not value:
            raise ConfigError(
                name, f"not set; {how_to_fix} (or in the file {name}{FILE_SUFFIX} names, or a systemd credential)"
            )
        return value

    def items(self, name: str) -> tuple[str, ...]:
        """A comma-separated list (module paths, header names)."""
        return comma_separated(self.environ.get(name, ""))

    def secrets(self, name: str) -> tuple[str, ...]:
        """A comma-separated list of secrets (several during a rotation), from any of the three sources."""
        return comma_separated(secret_text(self.environ, name))

    def private_directory(self, name: str, how_to_fix: str) -> Path | None:
        """A directory this process can write in and no one else can enter, created 0700 when
        missing; None when unset.

        It will hold webhook bodies, so the program itself keeps it private rather than relying on
        a umask (the systemd units set one; a shell or a container usually has 022). One that
        others may read or enter is refused, not tightened: someone made it so, on purpose or not.
        """
        raw = self.text(name, "")
        if not raw:
            return None
        path = Path(raw).resolve()
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=path):
                pass
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError as exc:
            problem = f"{raw} is not a directory this process can write in ({exc.strerror or exc})"
            raise ConfigError(name, f"{problem}; {how_to_fix}") from None
        if mode & 0o077:
            raise ConfigError(
                name,
                f"{raw} is open to other users (mode {mode:04o}) and would hold webhook bodies; "
                f"chmod 0700 {path} (systemd: StateDirectoryMode=0700)",
            )
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
