"""scripts/rolling-deploy replacing containers behind the shipped HAProxy, under 100 deliveries/s.

The restart command is the documented one for containers: stop the old container (podman stop,
which drains it), remove it, and start the new one under the same name and port. The deploy
takes each instance out of HAProxy first (runtime API `state drain`), runs that command, waits
for the new container's /health and /ready, and puts it back: no delivery fails, every
acknowledged one is stored once, and every container is a new one. The same containers swapped
naively (stop, remove, start, the next at once) fail deliveries.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.harness.containers import Container, Images, container_url
from tests.harness.gunicorn import STRIPE_SECRET
from tests.harness.load import SignedLoad, assert_each_acknowledged_event_stored_once
from tests.harness.proxies import HAPROXY_BACKEND, running_haproxy

RATE = 100
NAMES = ["app1", "app2"]  # the first server names of deploy/haproxy/haproxy.cfg
DEPLOY_TIMEOUT_SECONDS = 240


def restart_script(path: Path, images: Images, container: Container, env: dict[str, str]) -> None:
    """The restart command for one instance: replace its container, same name and port."""
    podman = images.podman
    lines = [
        "#!/bin/sh",
        "set -e",
        shlex.join(podman.command("stop", "--time", "15", container.name)),
        shlex.join(podman.command("rm", "--volumes", container.name)),
        shlex.join(podman.command(*container.run_arguments(images.image, env=env))),
    ]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)


def test_a_rolling_deploy_of_containers_fails_no_delivery(
    start_container: Callable[..., Container], images: Images, durable_db: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": container_url(durable_db), "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET}
    instances = dict(zip(NAMES, (start_container(env=env) for _ in NAMES), strict=True))
    for name, container in instances.items():
        container.wait_until_healthy()
        restart_script(tmp_path / f"restart-{name}", images, container, env)
    old_ids = {name: container.state()["Pid"] for name, container in instances.items()}
    env_file = tmp_path / "release.env"  # what `webhook-server check` runs with, on this side
    env_file.write_text(f"DATABASE_URL={durable_db}\nSTRIPE_WEBHOOK_SECRET={STRIPE_SECRET}\n")
    with running_haproxy(tmp_path, [container.port for container in instances.values()]) as proxy:
        proxy.wait_until_checked_up(NAMES)
        with SignedLoad(proxy.url("/webhooks/stripe"), RATE, senders=16) as load:
            time.sleep(1.0)
            deploy = subprocess.run(
                [
                    str(REPO_ROOT / "scripts" / "rolling-deploy"),
                    *("--restart", f"{tmp_path}/restart-{{name}}", "--env-file", str(env_file)),
                    *("--haproxy-socket", str(proxy.stats_socket), "--backend", HAPROXY_BACKEND),
                    *(arg for name, c in instances.items() for arg in ("--instance", f"{name}={c.url('/health')}")),
                ],
                capture_output=True,
                text=True,
                timeout=DEPLOY_TIMEOUT_SECONDS,
                cwd=REPO_ROOT,
            )
            time.sleep(1.0)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    for name, container in instances.items():
        assert f"[{name}] ready: back in rotation" in deploy.stdout, deploy.stdout
        assert container.state()["Pid"] != old_ids[name], f"{name}: the same container"
    assert load.ledger.failures == [], load.ledger.failures[:5]
    assert len(load.ledger.acknowledged) > 5 * RATE
    assert_each_acknowledged_event_stored_once(load.ledger, durable_db)


def test_the_naive_swap_of_the_same_containers_fails_deliveries(
    start_container: Callable[..., Container], images: Images, clean_db: str, tmp_path: Path
) -> None:
    """The control, the seed's deploy: each container stopped, removed and started again at
    once, the next one without waiting for the new one to be healthy. HAProxy is left with no
    instance it has seen healthy and answers 503: the harness does see failures."""
    env = {"DATABASE_URL": container_url(clean_db), "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET}
    instances = [start_container(env=env) for _ in NAMES]
    for container in instances:
        container.wait_until_healthy()
    with running_haproxy(tmp_path, [container.port for container in instances]) as proxy:
        proxy.wait_until_checked_up(NAMES)
        with SignedLoad(proxy.url("/webhooks/stripe"), RATE, senders=16) as load:
            time.sleep(1.0)
            for container in instances:
                container.stop()
                images.podman.run("rm", "--volumes", container.name)
                images.podman.run(*container.run_arguments(images.image, env=env))
            time.sleep(3.0)
    assert [failure for failure in load.ledger.failures if ": 503 " in failure], load.ledger.failures[:5]
    assert_each_acknowledged_event_stored_once(load.ledger, clean_db)
