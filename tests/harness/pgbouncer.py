"""Debian's PgBouncer from the shipped deploy/pgbouncer/pgbouncer.ini, in front of a test Postgres.

The shipped file's pooling settings are kept; only where it listens, which server it reaches,
how clients authenticate (``any``: the server's password travels in the [databases] entry) and
where it logs change. As root it runs as ``nobody`` (it refuses to run as root).
"""

from __future__ import annotations

import configparser
import os
import shutil
import socket
from pathlib import Path
from urllib.parse import quote

from tests.harness.gunicorn import kill_group, start_logged
from tests.harness.polling import wait_for
from webhook_server.dev.localdb import LocalPostgres, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_INI = REPO_ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini"
PROGRAM = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
DATABASE = "webhooks"
START_TIMEOUT_SECONDS = 10


def missing() -> bool:
    return not Path(PROGRAM).exists()


class PgBouncer:
    """One pgbouncer process listening on 127.0.0.1 in front of ``postgres``; ``kill`` ends it."""

    def __init__(self, directory: Path, postgres: LocalPostgres, *, pool_size: int = 3) -> None:
        directory.mkdir(mode=0o755, exist_ok=True)
        directory.chmod(0o755)  # nobody reads the ini again on a reload
        self.port = free_port()
        self.log_path = directory / "pgbouncer.log"
        self._postgres = postgres
        ini = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
        ini.read(SHIPPED_INI)
        ini["databases"] = {
            DATABASE: f"host=127.0.0.1 port={postgres.port} dbname=postgres user=postgres password={postgres.password}"
        }
        settings = ini["pgbouncer"]
        settings.update(
            listen_port=str(self.port),
            default_pool_size=str(pool_size),
            auth_type="any",
            logfile="",
            pidfile="",
        )
        del settings["auth_file"]
        path = directory / "pgbouncer.ini"
        with path.open("w") as file:
            ini.write(file)
        path.chmod(0o644)
        command = [PROGRAM, str(path)]
        if os.geteuid() == 0:
            command += ["-u", "nobody"]
        self.process = start_logged(command, self.log_path)
        wait_for(self._accepting, START_TIMEOUT_SECONDS, lambda: f"pgbouncer listening:\n{self.log()}")

    def url(self) -> str:
        """DATABASE_URL through the pooler."""
        return f"postgresql://postgres:{quote(self._postgres.password, safe='')}@127.0.0.1:{self.port}/{DATABASE}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def _accepting(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"pgbouncer exited with {self.process.returncode}:\n{self.log()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def kill(self) -> None:
        kill_group(self.process)
