"""Replace webhook-server instances one at a time, each out of the load balancer while it restarts.

First, before any instance is touched, ``webhook-server check`` (this checkout's: the new
release) runs with the release's environment (``--env-file``, the units' EnvironmentFile): a
wrong DATABASE_URL or password, a missing migration or a missing secret stops the deploy there.

Then for each instance, in the order given: take it out of HAProxy (runtime API ``state drain``:
no new connections, current ones finish), wait until its sessions reach 0 or the cap, run the
restart command, wait until its ``/health`` answers 200 several times in a row and its
``/ready`` answers 200 (the new process reaches Postgres through its own pool), put it back
(``state ready``) and wait until HAProxy sees it UP. Without a runtime socket the restart
command's SIGTERM does the taking out: ``/health`` turns 503 for the drain announce and the
balancer's health check notices. The balancer itself only ever asks ``/health``, which never
touches the database.

Any step that fails stops the deploy: the instances after it are untouched, the failing one is
left out of rotation, and the message says how to put it back.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from webhook_server.errors import EXIT_FAILURE, EXIT_OK
from webhook_server.rollout.haproxy import HAProxyError, RuntimeAPI

POLL_SECONDS = 0.2
READY_PATH = "/ready"
# Above WEBHOOK_DB_TIMEOUT (1.5 s), which bounds /ready's wait for a connection.
READY_TIMEOUT_SECONDS = 5
# The new release's `webhook-server`: the one beside the Python running this deploy.
CHECK_COMMAND = [str(Path(sys.executable).parent / "webhook-server"), "check"]
# What the check keeps of the deployer's own environment besides the release's file.
# CREDENTIALS_DIRECTORY: where the release's secrets are, as the units' LoadCredential= files.
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "TZ", "CREDENTIALS_DIRECTORY")


class DeployFailed(Exception):
    """A step failed; the message names the instance, the step and what to do."""


@dataclass(frozen=True)
class Instance:
    name: str  # the HAProxy server name and the {name} in the restart command
    health_url: str

    def restart_command(self, template: str) -> str:
        return template.format(name=self.name, port=urllib.parse.urlsplit(self.health_url).port)

    @property
    def ready_url(self) -> str:
        """``/ready`` beside ``/health``: the same process, asked about its database."""
        return urllib.parse.urljoin(self.health_url, READY_PATH)


@dataclass(frozen=True)
class Plan:
    instances: list[Instance]
    restart: str  # command template: {name} and {port} (of the health URL) replaced
    runtime: RuntimeAPI | None
    backend: str
    drain_cap: float
    healthy_checks: int
    boot_timeout: float
    check_env: dict[str, str] | None = None  # the release's environment; None: this process's

    def describe(self) -> list[str]:
        source = "this shell's environment" if self.check_env is None else "the --env-file"
        lines = [f"run: {' '.join(CHECK_COMMAND)} with {source}; stop unless it exits 0"]
        for instance in self.instances:
            if self.runtime:
                lines.append(
                    f"[{instance.name}] set {self.backend}/{instance.name} state drain, "
                    f"wait up to {self.drain_cap:g} s for 0 sessions"
                )
            lines.append(f"[{instance.name}] run: {instance.restart_command(self.restart)}")
            lines.append(
                f"[{instance.name}] wait for {self.healthy_checks} x 200 from {instance.health_url} "
                f"(up to {self.boot_timeout:g} s), then 200 from {instance.ready_url}"
            )
            if self.runtime:
                lines.append(f"[{instance.name}] set {self.backend}/{instance.name} state ready, wait until UP")
        return lines


def deploy(plan: Plan, say: Callable[[str], None]) -> None:
    started = time.monotonic()
    check_release(plan)
    say(f"check: {' '.join(CHECK_COMMAND)} passed with the release's environment")
    for instance in plan.instances:
        replace(plan, instance, say)
    say(f"deployed {len(plan.instances)} instances in {time.monotonic() - started:.1f} s")


def check_release(plan: Plan) -> None:
    """``webhook-server check`` with the release's environment, before anything is touched."""
    result = subprocess.run(
        CHECK_COMMAND, env=plan.check_env, capture_output=True, text=True, timeout=plan.boot_timeout, check=False
    )
    if result.returncode != 0:
        raise DeployFailed(
            f"`webhook-server check` found problems with the release's environment; no instance was touched:\n"
            f"{(result.stdout + result.stderr).strip()}"
        )


def read_env_file(path: Path) -> dict[str, str]:
    """The release's environment: the EnvironmentFile's KEY=VALUE lines (quotes stripped, # comments
    skipped), with a few of this shell's variables (PATH) that no such file sets."""
    env = {key: os.environ[key] for key in INHERITED_VARIABLES if key in os.environ}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, equals, value = line.removeprefix("export ").partition("=")
        if not equals or not key.strip():
            raise ValueError(f"{path}:{number}: expected KEY=VALUE, not {line[:40]!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def replace(plan: Plan, instance: Instance, say: Callable[[str], None]) -> None:
    name, started = instance.name, time.monotonic()

    def step(message: str) -> None:
        say(f"[{name}] {message} (+{time.monotonic() - started:.1f} s)")

    if plan.runtime:
        plan.runtime.set_state(plan.backend, name, "drain")
        step("drain: HAProxy sends it no new connections")
        sessions = _wait_for_no_sessions(plan, name)
        step(f"sessions: {sessions}" + (" (cap reached, restarting anyway)" if sessions else ""))
    command = instance.restart_command(plan.restart)
    result = subprocess.run(
        shlex.split(command), capture_output=True, text=True, timeout=plan.boot_timeout, check=False
    )
    if result.returncode != 0:
        raise DeployFailed(
            _left_out(
                plan,
                name,
                f"restart command failed with exit code {result.returncode}: "
                f"{command}\n{(result.stdout + result.stderr).strip()}",
            )
        )
    step(f"restarted: {command}")
    _wait_until_healthy(plan, instance)
    step(f"healthy: {plan.healthy_checks} x 200 from {instance.health_url}")
    _wait_until_ready(plan, instance)
    step(f"database reachable: 200 from {instance.ready_url}")
    if plan.runtime:
        plan.runtime.set_state(plan.backend, name, "ready")
        _wait_until_up(plan, name)
        step("ready: back in rotation, HAProxy checks it UP")


def _wait_for_no_sessions(plan: Plan, name: str) -> int:
    assert plan.runtime is not None
    deadline = time.monotonic() + plan.drain_cap
    while True:
        sessions = int(plan.runtime.server(plan.backend, name)["scur"] or 0)
        if sessions == 0 or time.monotonic() >= deadline:
            return sessions
        time.sleep(POLL_SECONDS)


def _wait_until_healthy(plan: Plan, instance: Instance) -> None:
    deadline, in_a_row = time.monotonic() + plan.boot_timeout, 0
    while in_a_row < plan.healthy_checks:
        if time.monotonic() >= deadline:
            raise DeployFailed(
                _left_out(
                    plan,
                    instance.name,
                    f"{instance.health_url} did not answer 200 "
                    f"{plan.healthy_checks} times in a row within {plan.boot_timeout:g} s",
                )
            )
        in_a_row = in_a_row + 1 if _health(instance.health_url) == 200 else 0
        time.sleep(POLL_SECONDS)


def _wait_until_ready(plan: Plan, instance: Instance) -> None:
    """Until the new process answers ``/ready`` 200; its last answer is the message if it never does."""
    deadline = time.monotonic() + plan.boot_timeout
    while True:
        status, body = _get(instance.ready_url)
        if status == 200:
            return
        if time.monotonic() >= deadline:
            raise DeployFailed(
                _left_out(
                    plan,
                    instance.name,
                    f"{instance.ready_url} did not answer 200 within {plan.boot_timeout:g} s: the new process "
                    f"cannot use the database; its last answer: {status} {body.strip()[:500]} "
                    f"({instance.name}'s log has the cause)",
                )
            )
        time.sleep(POLL_SECONDS)


def _health(url: str) -> int | None:
    return _get(url)[0]


def _get(url: str) -> tuple[int | None, str]:
    try:
        with urllib.request.urlopen(url, timeout=READY_TIMEOUT_SECONDS) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except OSError as exc:
        return None, str(exc)


def _wait_until_up(plan: Plan, name: str) -> None:
    assert plan.runtime is not None
    deadline = time.monotonic() + plan.boot_timeout
    while (status := plan.runtime.server(plan.backend, name)["status"]) != "UP":
        if time.monotonic() >= deadline:
            raise DeployFailed(f"[{name}] HAProxy still reports {status} {plan.boot_timeout:g} s after state ready")
        time.sleep(POLL_SECONDS)


def _left_out(plan: Plan, name: str, problem: str) -> str:
    message = f"[{name}] {problem}\ndeploy stopped; the instances after {name} were not touched."
    if plan.runtime:
        message += (
            f"\n{name} is still drained in HAProxy; once it is fixed, put it back with: "
            f"echo 'set server {plan.backend}/{name} state ready' | socat stdio {plan.runtime.socket_path}"
        )
    return message


def _instance(text: str) -> Instance:
    name, sep, url = text.partition("=")
    if not sep or not name or not url.startswith("http"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=HEALTH_URL, e.g. app1=http://10.0.0.5:8001/health")
    return Instance(name, url)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="rolling-deploy",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""example (three instances on one host behind HAProxy, systemd socket units):
  scripts/rolling-deploy \\
      --haproxy-socket /run/haproxy/admin.sock --backend webhook_server \\
      --restart 'systemctl restart webhook-server@{port}' \\
      --env-file /etc/webhook-server/server.env \\
      --instance app1=http://127.0.0.1:8001/health \\
      --instance app2=http://127.0.0.1:8002/health \\
      --instance app3=http://127.0.0.1:8003/health

NAME is the server's name in HAProxy (deploy/haproxy/haproxy.cfg: app1-app3); {port} in
--restart is the health URL's port, the instance of webhook-server@.service. Add --dry-run to
print the plan and change nothing.""",
    )
    parser.add_argument(
        "--instance",
        dest="instances",
        action="append",
        type=_instance,
        required=True,
        metavar="NAME=HEALTH_URL",
        help="an instance to replace, in order (repeat the option)",
    )
    parser.add_argument(
        "--restart",
        required=True,
        metavar="COMMAND",
        help="command that restarts one instance and returns once it is starting; {name} "
        "is replaced by the instance's name, {port} by its health URL's port "
        "(e.g. 'systemctl restart webhook-server@{port}')",
    )
    parser.add_argument(
        "--haproxy-socket",
        type=Path,
        metavar="PATH",
        help="HAProxy's admin socket (stats socket ... level admin): drain each instance "
        "first; without it the instance's own drain announce takes it out",
    )
    parser.add_argument(
        "--backend", default="webhook_server", help="HAProxy backend of the instances (default: %(default)s)"
    )
    parser.add_argument(
        "--drain-cap",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="longest wait for a drained instance's sessions to reach 0 (default: %(default)s)",
    )
    parser.add_argument(
        "--healthy-checks",
        type=int,
        default=3,
        metavar="N",
        help="200s from /health in a row that make a new process ready (default: %(default)s)",
    )
    parser.add_argument(
        "--boot-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="longest wait for the restart command and then for a healthy process (default: %(default)s)",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        metavar="PATH",
        help="the new release's environment (the units' EnvironmentFile, e.g. /etc/webhook-server/server.env): "
        "`webhook-server check` runs with it before any instance is touched; without it, with this "
        "shell's environment",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        check_env = read_env_file(args.env_file) if args.env_file else None
    except (OSError, ValueError) as exc:
        print(f"rolling-deploy: --env-file: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    plan = Plan(
        instances=args.instances,
        restart=args.restart,
        runtime=RuntimeAPI(args.haproxy_socket) if args.haproxy_socket else None,
        backend=args.backend,
        drain_cap=args.drain_cap,
        healthy_checks=args.healthy_checks,
        boot_timeout=args.boot_timeout,
        check_env=check_env,
    )
    if args.dry_run:
        print("\n".join(plan.describe()))
        return EXIT_OK
    try:
        deploy(plan, lambda line: print(line, flush=True))
    except (DeployFailed, HAProxyError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"rolling-deploy: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
