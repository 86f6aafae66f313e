"""Replace webhook-server instances one at a time, each out of the load balancer while it restarts.

For each instance, in the order given: take it out of HAProxy (runtime API ``state drain``:
no new connections, current ones finish), wait until its sessions reach 0 or the cap, run the
restart command, wait until its ``/health`` answers 200 several times in a row, put it back
(``state ready``) and wait until HAProxy sees it UP. Without a runtime socket the restart
command's SIGTERM does the taking out: ``/health`` turns 503 for the drain announce and the
balancer's health check notices.

Any step that fails stops the deploy: the instances after it are untouched, the failing one is
left out of rotation, and the message says how to put it back.
"""

from __future__ import annotations

import argparse
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

from webhook_server.deploy.haproxy import HAProxyError, RuntimeAPI
from webhook_server.errors import EXIT_FAILURE, EXIT_OK

POLL_SECONDS = 0.2


class DeployFailed(Exception):
    """A step failed; the message names the instance, the step and what to do."""


@dataclass(frozen=True)
class Instance:
    name: str  # the HAProxy server name and the {name} in the restart command
    health_url: str

    def restart_command(self, template: str) -> str:
        return template.format(name=self.name, port=urllib.parse.urlsplit(self.health_url).port)


@dataclass(frozen=True)
class Plan:
    instances: list[Instance]
    restart: str  # command template: {name} and {port} (of the health URL) replaced
    runtime: RuntimeAPI | None
    backend: str
    drain_cap: float
    healthy_checks: int
    boot_timeout: float

    def describe(self) -> list[str]:
        lines = []
        for instance in self.instances:
            if self.runtime:
                lines.append(
                    f"[{instance.name}] set {self.backend}/{instance.name} state drain, "
                    f"wait up to {self.drain_cap:g} s for 0 sessions"
                )
            lines.append(f"[{instance.name}] run: {instance.restart_command(self.restart)}")
            lines.append(
                f"[{instance.name}] wait for {self.healthy_checks} x 200 from {instance.health_url} "
                f"(up to {self.boot_timeout:g} s)"
            )
            if self.runtime:
                lines.append(f"[{instance.name}] set {self.backend}/{instance.name} state ready, wait until UP")
        return lines


def deploy(plan: Plan, say: Callable[[str], None]) -> None:
    started = time.monotonic()
    for instance in plan.instances:
        replace(plan, instance, say)
    say(f"deployed {len(plan.instances)} instances in {time.monotonic() - started:.1f} s")


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


def _health(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


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
    parser.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    plan = Plan(
        instances=args.instances,
        restart=args.restart,
        runtime=RuntimeAPI(args.haproxy_socket) if args.haproxy_socket else None,
        backend=args.backend,
        drain_cap=args.drain_cap,
        healthy_checks=args.healthy_checks,
        boot_timeout=args.boot_timeout,
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
