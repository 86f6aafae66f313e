"""The key that signs the dashboard's session cookies, kept in its state directory, and replaced
to end every session at once.

The key is random, never derived from the password. It was once an HMAC of the password: as
``GET /login`` hands any visitor a signed cookie, that cookie let anyone who could reach the
login page test some 100,000 password guesses a second offline. A random key makes the cookie
say nothing about the password.

It lives in ``session-key`` in the state directory (mode 0600), so a restart signs nobody out.
Replacing it ends every session, since every cookie was signed with the old one: logging out
does that (a cookie captured before the logout is worthless after it), and so does a change of
password, noticed at start through a fingerprint of the password kept beside the key (scrypt:
the file's reader learns no faster way to test guesses than the login form's).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from pathlib import Path

from webhook_server.errors import ConfigError

KEY_FILE = "session-key"
_KEY_BYTES = 32
# scrypt's cost: about 50 ms once per start and per logout, 16 MiB of memory.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class SessionKey:
    """The current signing key of one state directory; ``replace`` makes and keeps a new one."""

    def __init__(self, directory: Path, password: str) -> None:
        self._path = directory / KEY_FILE
        self._password = password
        self._lock = threading.Lock()
        stored = self._read()
        if stored is None or not hmac.compare_digest(stored["password"], self._fingerprint(stored["salt"])):
            self.current = self.replace()  # first start, or a new password: every old session ends
        else:
            self.current = bytes.fromhex(stored["key"])

    def replace(self) -> bytes:
        """A new random key, written before it is used: sessions signed with the old one end."""
        key = secrets.token_bytes(_KEY_BYTES)
        salt = secrets.token_hex(16)
        document = {"key": key.hex(), "salt": salt, "password": self._fingerprint(salt)}
        with self._lock:  # two logouts at once: the one written last is the one used
            self._write(json.dumps(document))
            self.current = key
        return key

    def _fingerprint(self, salt: str) -> str:
        return hashlib.scrypt(self._password.encode(), salt=salt.encode(), **_SCRYPT).hex()

    def _read(self) -> dict[str, str] | None:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._problem(f"cannot read {self._path} ({exc.strerror})") from None
        try:
            document = json.loads(text)
            bytes.fromhex(document["key"])
            return {name: str(document[name]) for name in ("key", "salt", "password")}
        except (ValueError, KeyError, TypeError):
            raise self._problem(f"{self._path} is not a key file this dashboard wrote; delete it") from None

    def _write(self, text: str) -> None:
        """Atomically, never readable by anyone but the owner, even for a moment."""
        temporary = self._path.with_name(f".{KEY_FILE}.{os.getpid()}.tmp")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self._path)
        except OSError as exc:
            raise self._problem(f"cannot write {self._path} ({exc.strerror})") from None

    def _problem(self, what: str) -> ConfigError:
        return ConfigError("WEBHOOK_DASHBOARD_STATE_DIR", f"{what}; the dashboard's user must own its state directory")
