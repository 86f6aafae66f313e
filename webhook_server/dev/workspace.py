"""``.webhook-dev``: what `webhook-server dev` keeps between runs, readable by its owner only.

- ``pgdata/``: the local Postgres cluster, with ``postgres-password`` (generated once; the
  server asks for it on every connection) and ``postgres-port`` (chosen free on the first run,
  then kept, so ``DATABASE_URL`` stays the same from one day to the next);
- ``<scheme>-webhook-secret``: the dev server's signing secret of each built-in endpoint,
  which `send` signs with;
- ``env``: ``export DATABASE_URL=…`` and ``WEBHOOK_DEV_DIR=…``, for ``source .webhook-dev/env``;
- ``spool/``: the dev server's spool, where deliveries wait while the local Postgres is stopped.

The directory is mode 0700 and every file 0600: they hold a superuser password and secrets.
Delete the directory to start afresh (a new database, new secrets, a new port).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shlex
from pathlib import Path

from webhook_server.dev.localdb import LocalPostgres, LocalPostgresError, free_port

DEFAULT_DIR = ".webhook-dev"
DIR_VARIABLE = "WEBHOOK_DEV_DIR"


FORWARD_SECRET_FILE = "forward-secret"
FORWARD_DESTINATIONS_FILE = "destinations.toml"
FORWARD_SECRET_VARIABLE = "WEBHOOK_DEV_FORWARD_SECRET"


def secret_file(scheme: str) -> str:
    return f"{scheme}-webhook-secret"


def new_secret(scheme: str) -> str:
    """A secret in the form the scheme's settings check: Stripe's whsec_, Standard Webhooks' base64."""
    if scheme == "stripe":
        return f"whsec_dev_{secrets.token_hex(16)}"
    if scheme == "standard":
        return f"whsec_{base64.b64encode(secrets.token_bytes(24)).decode()}"
    return secrets.token_hex(16)


class Workspace:
    """One ``.webhook-dev`` directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()

    @classmethod
    def from_environ(cls) -> Workspace:
        """The workspace `dev` uses by default (WEBHOOK_DEV_DIR, else .webhook-dev here)."""
        return cls(Path(os.environ.get(DIR_VARIABLE) or DEFAULT_DIR))

    def prepare(self) -> None:
        """Create the directory (0700) and make the files of older versions private too."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        for path in self.directory.iterdir():
            if path.is_file():
                path.chmod(0o600)

    def postgres(self) -> LocalPostgres:
        """The workspace's Postgres, on its kept port, with its kept password."""
        data_dir = self.directory / "pgdata"
        password = self._read("postgres-password")
        if password is None:
            if (data_dir / "PG_VERSION").exists():
                raise LocalPostgresError(
                    f"{data_dir} was made by an older `webhook-server dev`, with no password (trust); "
                    f"delete it (rm -rf {data_dir}) to start afresh"
                )
            password = self._write("postgres-password", secrets.token_urlsafe(24))
        port = self._read("postgres-port") or self._write("postgres-port", str(free_port()))
        return LocalPostgres(data_dir, port=int(port), password=password)

    def signing_secret(self, scheme: str, *, create: bool = False) -> str | None:
        """The dev server's secret for a built-in endpoint; made on first use when ``create``."""
        found = self._read(secret_file(scheme))
        if found is None and create:
            found = self._write(secret_file(scheme), new_secret(scheme))
        return found

    def forward_to(self, url: str) -> tuple[Path, str]:
        """The destinations file of `dev --forward-to URL` and its secret (kept between runs, like the
        signing secrets, so the local app keeps verifying with the same one)."""
        secret = self._read(FORWARD_SECRET_FILE) or self._write(FORWARD_SECRET_FILE, new_secret("standard"))
        # Quick retries: a developer restarts the app and wants the event now, not in an hour.
        self._write(
            FORWARD_DESTINATIONS_FILE,
            f'[destinations.dev]\nurl = {json.dumps(url)}\nsecret_env = "{FORWARD_SECRET_VARIABLE}"\n'
            'retry_base = 1\nretry_cap = 10\npause_after = "off"\n',
        )
        return self.path(FORWARD_DESTINATIONS_FILE), secret

    def spool_directory(self) -> Path:
        """The dev server's WEBHOOK_SPOOL_DIR, 0700: the server refuses a spool others can enter,
        and versions before it made this one 0755."""
        path = self.directory / "spool"
        path.mkdir(mode=0o700, exist_ok=True)
        path.chmod(0o700)
        return path

    def write_env(self, database_url: str) -> Path:
        """The file to ``source`` for this database from another shell."""
        self._write(
            "env",
            "# webhook-server dev: `source` this file to use its Postgres (and `send` its secrets) elsewhere.\n"
            f"export DATABASE_URL={shlex.quote(database_url)}\n"
            f"export {DIR_VARIABLE}={shlex.quote(str(self.directory))}",
        )
        return self.directory / "env"

    def path(self, name: str) -> Path:
        return self.directory / name

    def _read(self, name: str) -> str | None:
        path = self.directory / name
        if not path.exists():
            return None
        return path.read_text().strip() or None

    def _write(self, name: str, value: str) -> str:
        """Write ``value`` to a file created 0600 (never world-readable, not even for a moment)."""
        descriptor = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(f"{value}\n")
        return value
