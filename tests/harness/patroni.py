"""A Patroni cluster on loopback: one etcd, three Postgres members, HAProxy's `postgres` frontend.

Built from the shipped files in deploy/patroni/, as an operator would run them: each member is
Debian's ``patroni`` on the unchanged ``patroni.yml`` with its name, addresses, data directory and
passwords in the environment (``PATRONI_NAME``, ``PATRONI_POSTGRESQL_LISTEN``, … override the
file), and only the unix socket directory substituted (the shipped ``/var/run/postgresql`` is
not writable by every user). HAProxy runs ``haproxy-postgres.cfg`` with the members' test ports
in place of the example addresses. The timings that make a failover slow (``ttl``,
``loop_wait``) are lowered after the bootstrap with ``patronictl edit-config``, as they would be
changed in production.

Postgres refuses to run as root: as root, etcd, Patroni (and so Postgres) run as Debian's
``postgres`` user. Patroni starts Postgres detached, so a member's Postgres outlives its
Patroni (that is one of the faults the tests make); ``stop`` kills both, and etcd and HAProxy,
whatever state a test left them in.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import requests

from tests.harness.gunicorn import start_logged
from tests.harness.polling import wait_for
from tests.harness.proxies import ConfigDrift
from webhook_server.dev.localdb import free_port, let_through_parents
from webhook_server.rollout.haproxy import HAProxyError, RuntimeAPI

CHECKOUT = Path(__file__).resolve().parents[2]
SHIPPED_MEMBER = CHECKOUT / "deploy" / "patroni" / "patroni.yml"
SHIPPED_HAPROXY = CHECKOUT / "deploy" / "patroni" / "haproxy-postgres.cfg"
PATRONI = "/usr/bin/patroni"
PATRONICTL = "/usr/bin/patronictl"
ETCD = "/usr/bin/etcd"
HAPROXY = "/usr/sbin/haproxy"
# Debian's packages: what `scripts/test` installs as root.
PACKAGES = "patroni etcd-server postgresql haproxy"
RUN_AS = "postgres"
SUPERUSER_PASSWORD = "test-superuser-secret"
APP_USER = "webhooks"
APP_PASSWORD = "test-webhooks-secret"
APP_DATABASE = "webhooks"

# Fast enough for a test, within Patroni's rule ttl >= loop_wait + 2 * retry_timeout.
FAST_TIMINGS = {"ttl": 10, "loop_wait": 1, "retry_timeout": 3}
BOOT_TIMEOUT_SECONDS = 90.0
FAILOVER_TIMEOUT_SECONDS = 60.0
COMMAND_TIMEOUT_SECONDS = 30.0
SOCKET_LINE = "unix_socket_directories: /var/run/postgresql"
HAPROXY_BIND = "bind 127.0.0.1:5000"
HAPROXY_SERVER = re.compile(r"^(?P<indent>[ \t]*)server db(?P<n>\d) \S+:5432(?P<options>.*) check port 8008\n", re.M)
# The shipped file is loaded after the webhook config, which has the `global` section.
HAPROXY_GLOBAL = "global\n    log stdout format raw local0\n    stats socket {socket} mode 600 level admin\n\n"


def postgres_bin() -> Path | None:
    """Debian's newest PostgreSQL binaries (bookworm has 15): what Patroni runs."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda path: int(path.parts[-3]))
    return found[-1].parent if found else None


def missing_programs() -> list[str]:
    """What the cluster needs and this machine lacks (scripts/test installs it as root)."""
    missing = [program for program in (PATRONI, PATRONICTL, ETCD, HAPROXY) if not Path(program).exists()]
    return missing if postgres_bin() is not None else [*missing, "/usr/lib/postgresql/*/bin/postgres"]


@dataclass
class Member:
    """One Patroni member: its ports, its data, its Patroni process (None once killed)."""

    name: str
    pg_port: int
    rest_port: int
    directory: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    def rest(self, path: str) -> int | None:
        """The status Patroni's REST API answers for ``path`` (None: nothing listens)."""
        try:
            return requests.get(f"http://127.0.0.1:{self.rest_port}{path}", timeout=1).status_code
        except requests.RequestException:
            return None

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None


@dataclass
class PatroniCluster:
    """etcd, the members and HAProxy under ``directory``; ``start`` brings all up, ``stop`` all down."""

    directory: Path
    size: int = 3
    members: list[Member] = field(default_factory=list)
    etcd_port: int = 0
    haproxy_port: int = 0
    _etcd: subprocess.Popen[bytes] | None = None
    _haproxy: subprocess.Popen[bytes] | None = None

    # -- the whole cluster -------------------------------------------------------------------

    def start(self) -> None:
        self._prepare_directory()
        self.etcd_port = free_port()
        self._etcd = self._spawn(
            [
                ETCD,
                "--name=etcd0",
                f"--data-dir={self.directory / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{self.etcd_port}",
                f"--advertise-client-urls=http://127.0.0.1:{self.etcd_port}",
                f"--listen-peer-urls=http://127.0.0.1:{free_port()}",
                "--initial-cluster-state=new",
            ],
            self.directory / "etcd.log",
            env={},
        )
        wait_for(self._etcd_healthy, BOOT_TIMEOUT_SECONDS, lambda: f"etcd healthy:\n{self._tail('etcd.log')}")
        self.members = [self._member(number) for number in range(self.size)]
        self.start_patroni(self.members[0])
        first = self.wait_for_leader()
        assert first is self.members[0]
        self.edit_config(FAST_TIMINGS)
        for member in self.members[1:]:
            self.start_patroni(member)
        self.wait_until_replicating(self.size - 1)
        self._create_app_database()
        self._start_haproxy()

    def stop(self) -> None:
        """Everything down, whatever a test did: Patroni first (it would restart Postgres)."""
        for member in self.members:
            if member.process is not None:
                _kill_group(member.process)
                member.process = None
        for member in self.members:
            pid = member.postmaster_pid()
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)  # its backends exit on their postmaster's death
        for process in (self._haproxy, self._etcd):
            if process is not None:
                _kill_group(process)

    # -- members -----------------------------------------------------------------------------

    def start_patroni(self, member: Member) -> None:
        member.process = self._spawn(
            [PATRONI, str(self.directory / "patroni.yml")], member.log_path, env=self._member_env(member)
        )

    def kill_patroni(self, member: Member) -> None:
        """kill -9 of Patroni alone: its Postgres goes on running, no longer managed."""
        assert member.process is not None
        member.process.kill()
        member.process.wait(COMMAND_TIMEOUT_SECONDS)
        member.process = None

    def kill_postgres(self, member: Member) -> None:
        """kill -9 of the member's postmaster (its backends follow it)."""
        pid = member.postmaster_pid()
        assert pid is not None, f"{member.name} has no postmaster.pid"
        os.kill(pid, signal.SIGKILL)

    def leader(self) -> Member | None:
        """The member whose Patroni answers /primary with 200 (as HAProxy sees it)."""
        leaders = [member for member in self.members if member.rest("/primary") == 200]
        return leaders[0] if len(leaders) == 1 else None

    def wait_for_leader(self, *, other_than: Member | None = None, timeout: float = BOOT_TIMEOUT_SECONDS) -> Member:
        def found() -> Member | None:
            leader = self.leader()
            return leader if leader is not None and leader is not other_than else None

        return wait_for(
            found, timeout, lambda: f"a leader other than {other_than and other_than.name}:\n{self.describe()}"
        )

    def sync_standby(self) -> Member | None:
        names = [row["Member"] for row in self.list_members() if row.get("Role") == "Sync Standby"]
        return next((member for member in self.members if member.name in names), None)

    def wait_until_replicating(self, standbys: int, timeout: float = BOOT_TIMEOUT_SECONDS) -> None:
        """Until ``standbys`` members stream from the leader and one of them is its sync standby
        (with synchronous_mode on; without it, until they stream)."""

        def ready() -> bool:
            rows = self.list_members()
            streaming = [
                row
                for row in rows
                if row.get("Role") in ("Replica", "Sync Standby") and row.get("State") in ("running", "streaming")
            ]
            synchronous = self.config().get("synchronous_mode", False)
            return len(streaming) >= standbys and (
                not synchronous or any(r["Role"] == "Sync Standby" for r in streaming)
            )

        wait_for(ready, timeout, lambda: f"{standbys} standbys replicating:\n{self.describe()}")

    def switchover(self, candidate: Member) -> None:
        leader = self.leader()
        assert leader is not None
        self.patronictl("switchover", f"--leader={leader.name}", f"--candidate={candidate.name}", "--force")

    # -- configuration and inspection --------------------------------------------------------

    def edit_config(self, settings: dict[str, Any]) -> None:
        """Change the cluster-wide (DCS) configuration, as `patronictl edit-config -s` does."""
        self.patronictl(
            "edit-config", "--force", *(f"--set={name}={json.dumps(value)}" for name, value in settings.items())
        )

    def config(self) -> dict[str, Any]:
        leader = self.leader() or self.members[0]
        return requests.get(f"http://127.0.0.1:{leader.rest_port}/config", timeout=2).json()

    def list_members(self) -> list[dict[str, Any]]:
        try:
            return json.loads(self.patronictl("list", "--format=json"))
        except (AssertionError, ValueError):
            return []

    def describe(self) -> str:
        try:
            return self.patronictl("list")
        except AssertionError as exc:
            return str(exc)

    def patronictl(self, *args: str) -> str:
        result = subprocess.run(
            [PATRONICTL, "-c", str(self.directory / "patroni.yml"), *args],
            env={**self._base_env(), "PATRONI_ETCD3_HOSTS": f"127.0.0.1:{self.etcd_port}"},
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            **_as_user(),
        )
        if result.returncode != 0:
            raise AssertionError(
                f"patronictl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result.stdout

    def superuser_url(self, member: Member, dbname: str = "postgres") -> str:
        return f"postgresql://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{member.pg_port}/{dbname}"

    def database_url(self) -> str:
        """What the webhook-server is given: the application's role through HAProxy's frontend."""
        return f"postgresql://{APP_USER}:{quote(APP_PASSWORD)}@127.0.0.1:{self.haproxy_port}/{APP_DATABASE}"

    def member_url(self, member: Member) -> str:
        """The application's role on one member, bypassing HAProxy (to read what it holds)."""
        return f"postgresql://{APP_USER}:{quote(APP_PASSWORD)}@127.0.0.1:{member.pg_port}/{APP_DATABASE}"

    def multi_host_url(self) -> str:
        """The alternative to HAProxy: libpq tries every member and keeps the one that is writable."""
        hosts = ",".join(f"127.0.0.1:{member.pg_port}" for member in self.members)
        return f"postgresql://{APP_USER}:{quote(APP_PASSWORD)}@{hosts}/{APP_DATABASE}?target_session_attrs=read-write"

    # -- internals ---------------------------------------------------------------------------

    def _prepare_directory(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        text = SHIPPED_MEMBER.read_text()
        if text.count(SOCKET_LINE) != 1:
            raise ConfigDrift(f"{SHIPPED_MEMBER}: expected {SOCKET_LINE!r} once; update tests/harness/patroni.py")
        (self.directory / "patroni.yml").write_text(
            text.replace(SOCKET_LINE, f"unix_socket_directories: {self.directory}")
        )
        if os.geteuid() == 0:
            user = pwd.getpwnam(RUN_AS)
            let_through_parents(self.directory, user)
            shutil.chown(self.directory, user.pw_uid, user.pw_gid)
            shutil.chown(self.directory / "patroni.yml", user.pw_uid, user.pw_gid)

    def _member(self, number: int) -> Member:
        directory = self.directory / f"db{number + 1}"
        directory.mkdir(mode=0o700)
        if os.geteuid() == 0:
            user = pwd.getpwnam(RUN_AS)
            shutil.chown(directory, user.pw_uid, user.pw_gid)
        return Member(f"db{number + 1}", free_port(), free_port(), directory, self.directory / f"db{number + 1}.log")

    def _base_env(self) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(self.directory)}

    def _member_env(self, member: Member) -> dict[str, str]:
        return {
            **self._base_env(),
            "PATRONI_NAME": member.name,
            "PATRONI_RESTAPI_LISTEN": f"127.0.0.1:{member.rest_port}",
            "PATRONI_RESTAPI_CONNECT_ADDRESS": f"127.0.0.1:{member.rest_port}",
            "PATRONI_POSTGRESQL_LISTEN": f"127.0.0.1:{member.pg_port}",
            "PATRONI_POSTGRESQL_CONNECT_ADDRESS": f"127.0.0.1:{member.pg_port}",
            "PATRONI_POSTGRESQL_DATA_DIR": str(member.data_dir),
            "PATRONI_POSTGRESQL_PGPASS": str(member.directory / "pgpass"),
            "PATRONI_POSTGRESQL_BIN_DIR": str(postgres_bin()),
            "PATRONI_ETCD3_HOSTS": f"127.0.0.1:{self.etcd_port}",
            "PATRONI_SUPERUSER_PASSWORD": SUPERUSER_PASSWORD,
            "PATRONI_REPLICATION_PASSWORD": "test-replication-secret",
            "PATRONI_REWIND_PASSWORD": "test-rewind-secret",
        }

    def _spawn(self, command: Sequence[str], log_path: Path, *, env: dict[str, str]) -> subprocess.Popen[bytes]:
        with open(log_path, "ab") as log:
            return subprocess.Popen(
                list(command),
                env={**self._base_env(), **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                start_new_session=True,
                **_as_user(),
            )

    def _etcd_healthy(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.etcd_port}/health", timeout=1).json().get("health") == "true"
        except (requests.RequestException, ValueError):
            return False

    def _create_app_database(self) -> None:
        leader = self.wait_for_leader()
        with psycopg.connect(self.superuser_url(leader), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"CREATE ROLE {APP_USER} LOGIN PASSWORD '{APP_PASSWORD}'")
            conn.execute(f"CREATE DATABASE {APP_DATABASE} OWNER {APP_USER}")

    def _start_haproxy(self) -> None:
        text = SHIPPED_HAPROXY.read_text()
        self.haproxy_port = free_port()
        if text.count(HAPROXY_BIND) != 1:
            raise ConfigDrift(f"{SHIPPED_HAPROXY}: expected {HAPROXY_BIND!r} once; update tests/harness/patroni.py")
        text = text.replace(HAPROXY_BIND, f"bind 127.0.0.1:{self.haproxy_port}")
        ports = {str(number): member for number, member in enumerate(self.members, start=1)}

        def server(match: re.Match[str]) -> str:
            member = ports[match["n"]]
            address = f"127.0.0.1:{member.pg_port}{match['options']}"
            return f"{match['indent']}server {member.name} {address} check port {member.rest_port}\n"

        text, count = HAPROXY_SERVER.subn(server, text)
        if count != len(self.members):
            raise ConfigDrift(f"{SHIPPED_HAPROXY}: expected {len(self.members)} server lines, found {count}")
        config = self.directory / "haproxy-postgres.cfg"
        config.write_text(HAPROXY_GLOBAL.format(socket=self.directory / "haproxy.sock") + text)
        self._haproxy = start_logged([HAPROXY, "-db", "-f", str(config)], self.directory / "haproxy.log")
        self.wait_until_routed()

    def haproxy_up(self) -> list[str]:
        """The members HAProxy's checks have marked UP (it starts with all UP, unchecked)."""
        try:
            servers = RuntimeAPI(self.directory / "haproxy.sock").servers("postgres")
        except (OSError, HAProxyError):
            return []
        return [name for name, row in servers.items() if row["status"] == "UP" and row["check_status"] == "L7OK"]

    def wait_until_routed(self, timeout: float = BOOT_TIMEOUT_SECONDS) -> None:
        """Until HAProxy has checked every member and only the leader is UP."""
        wait_for(
            self._haproxy_routes, timeout, lambda: f"HAProxy routing to the leader only:\n{self._tail('haproxy.log')}"
        )

    def _haproxy_routes(self) -> bool:
        """Only the leader UP, by a check: until each standby failed its checks, HAProxy sends
        connections to them too (it starts every server UP)."""
        leader = self.leader()
        servers = self.haproxy_up()
        return leader is not None and servers == [leader.name] and len(self._haproxy_states()) == len(self.members)

    def _haproxy_states(self) -> dict[str, str]:
        try:
            servers = RuntimeAPI(self.directory / "haproxy.sock").servers("postgres")
        except (OSError, HAProxyError):
            return {}
        return {name: row["status"] for name, row in servers.items() if row["status"] in ("UP", "DOWN")}

    def _tail(self, name: str) -> str:
        path = self.directory / name
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@contextlib.contextmanager
def running_cluster(directory: Path, size: int = 3) -> Iterator[PatroniCluster]:
    cluster = PatroniCluster(directory, size)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def _as_user() -> dict[str, Any]:
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam(RUN_AS)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(COMMAND_TIMEOUT_SECONDS)
