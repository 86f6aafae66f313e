"""scripts/rolling-deploy under load, behind the real HAProxy: every delivery acknowledged and stored."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, STRIPE_SECRET
from tests.harness.fleet import Fleet
from tests.harness.load import Ledger, SignedLoad, assert_each_acknowledged_event_stored_once
from tests.harness.proxies import HAPROXY_BACKEND, RunningHAProxy, running_haproxy, running_nginx
from webhook_server.dev.localdb import free_port

NAMES = ["app1", "app2", "app3"]  # the server names in deploy/haproxy/haproxy.cfg
RATE = 100


@pytest.fixture
def fleet(durable_db: str, tmp_path: Path) -> Iterator[Fleet]:
    """Three instances on a Postgres with fsync on: `webhook-server check` refuses anything less."""
    directory = tmp_path / "fleet"
    directory.mkdir()
    fleet = Fleet(directory, durable_db, NAMES)
    try:
        fleet.wait_until_healthy()
        yield fleet
    finally:
        fleet.kill()


def rolling_deploy(fleet: Fleet, *extra: str) -> subprocess.CompletedProcess[str]:
    instances = [arg for name in NAMES for arg in ("--instance", f"{name}={fleet.health_url(name)}")]
    return subprocess.run(
        [
            str(REPO_ROOT / "scripts" / "rolling-deploy"),
            "--restart",
            fleet.restart_command(),
            "--env-file",
            str(fleet.env_file),
            *instances,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO_ROOT,
    )


def haproxy_options(proxy: RunningHAProxy) -> list[str]:
    return ["--haproxy-socket", str(proxy.stats_socket), "--backend", HAPROXY_BACKEND]


def assert_no_delivery_failed_or_was_lost(ledger: Ledger, database_url: str) -> None:
    assert ledger.failures == []
    assert len(ledger.acknowledged) > 5 * RATE
    assert_each_acknowledged_event_stored_once(ledger, database_url)


def test_a_rolling_deploy_under_load_fails_no_delivery(fleet: Fleet, durable_db: str, tmp_path: Path) -> None:
    old_pids = {name: fleet.pid(name) for name in NAMES}
    with running_haproxy(tmp_path, fleet.ports) as proxy:
        proxy.wait_until_checked_up(NAMES)
        with SignedLoad(proxy.url("/webhooks/stripe"), RATE) as load:
            time.sleep(1.0)
            result = rolling_deploy(fleet, *haproxy_options(proxy))
            time.sleep(1.0)
        assert result.returncode == 0, result.stdout + result.stderr
        assert {name: proxy.servers()[name]["status"] for name in NAMES} == dict.fromkeys(NAMES, "UP")
    assert result.stdout.startswith("check: "), result.stdout
    for name in NAMES:
        assert f"[{name}] database reachable: 200 from http://127.0.0.1:" in result.stdout, result.stdout
        assert f"[{name}] ready: back in rotation" in result.stdout, result.stdout
        assert fleet.pid(name) not in (None, old_pids[name]), f"{name} was not restarted"
    assert_no_delivery_failed_or_was_lost(load.ledger, durable_db)


def test_the_same_deploy_behind_nginx_fails_no_delivery(fleet: Fleet, durable_db: str, tmp_path: Path) -> None:
    """nginx has no health check: the restart's SIGTERM drains, nginx retries on another instance."""
    old_pids = {name: fleet.pid(name) for name in NAMES}
    with running_nginx(tmp_path, fleet.ports) as proxy, SignedLoad(proxy.url("/webhooks/stripe"), RATE) as load:
        time.sleep(1.0)
        result = rolling_deploy(fleet)
        time.sleep(1.0)
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(fleet.pid(name) not in (None, old_pids[name]) for name in NAMES), result.stdout
    assert_no_delivery_failed_or_was_lost(load.ledger, durable_db)


def test_a_failed_restart_stops_the_deploy_and_leaves_the_rest_alone(fleet: Fleet, tmp_path: Path) -> None:
    old_pids = {name: fleet.pid(name) for name in NAMES}
    with running_haproxy(tmp_path, fleet.ports) as proxy:
        proxy.wait_until_checked_up(NAMES)
        result = subprocess.run(
            [
                str(REPO_ROOT / "scripts" / "rolling-deploy"),
                "--haproxy-socket",
                str(proxy.stats_socket),
                "--restart",
                "false",
                "--env-file",
                str(fleet.env_file),
                "--instance",
                f"app1={fleet.health_url('app1')}",
                "--instance",
                f"app2={fleet.health_url('app2')}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        states = {name: proxy.servers()[name]["status"] for name in NAMES}
    assert result.returncode == 1
    assert "[app1] restart command failed" in result.stderr
    assert "app2" not in result.stdout + result.stderr.split("deploy stopped")[0]
    assert "state ready" in result.stderr  # how to put app1 back
    assert states == {"app1": "DRAIN", "app2": "UP", "app3": "UP"}
    assert {name: fleet.pid(name) for name in NAMES} == old_pids


def test_dry_run_prints_the_plan_and_touches_nothing(fleet: Fleet, tmp_path: Path) -> None:
    old_pids = {name: fleet.pid(name) for name in NAMES}
    with running_haproxy(tmp_path, fleet.ports) as proxy:
        proxy.wait_until_checked_up(NAMES)
        result = rolling_deploy(fleet, *haproxy_options(proxy), "--dry-run")
        states = {name: proxy.servers()[name]["status"] for name in NAMES}
    assert result.returncode == 0
    assert result.stdout.count("state drain") == 3
    assert states == dict.fromkeys(NAMES, "UP")
    assert {name: fleet.pid(name) for name in NAMES} == old_pids


def test_a_release_with_a_wrong_database_url_touches_no_instance(fleet: Fleet, tmp_path: Path) -> None:
    old_pids = {name: fleet.pid(name) for name in NAMES}
    wrong = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    fleet.env_file.write_text(f"DATABASE_URL={wrong}\nSTRIPE_WEBHOOK_SECRET={STRIPE_SECRET}\n")
    with running_haproxy(tmp_path, fleet.ports) as proxy:
        proxy.wait_until_checked_up(NAMES)
        result = rolling_deploy(fleet, *haproxy_options(proxy))
        states = {name: proxy.servers()[name]["status"] for name in NAMES}
    assert result.returncode == 1
    assert "no instance was touched" in result.stderr
    assert "DATABASE_URL: cannot connect (" in result.stderr, result.stderr
    assert result.stdout == ""
    assert states == dict.fromkeys(NAMES, "UP")
    assert {name: fleet.pid(name) for name in NAMES} == old_pids


def test_an_instance_that_cannot_reach_the_database_is_left_out(fleet: Fleet, tmp_path: Path) -> None:
    """The release checks out, but app1 starts with a wrong DATABASE_URL of its own: its /health
    is 200 (it never asks the database), its /ready is not, and the deploy stops there."""
    old_pids = {name: fleet.pid(name) for name in NAMES}
    fleet.set_env("app1", DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/postgres")
    with running_haproxy(tmp_path, fleet.ports) as proxy:
        proxy.wait_until_checked_up(NAMES)
        result = rolling_deploy(fleet, *haproxy_options(proxy), "--boot-timeout", "10")
        states = {name: proxy.servers()[name]["status"] for name in NAMES}
    assert result.returncode == 1
    assert "[app1] healthy: 3 x 200" in result.stdout
    assert f"{fleet.health_url('app1').removesuffix('/health')}/ready did not answer 200 within 10 s" in result.stderr
    assert "database_unavailable" in result.stderr and "app1's log has the cause" in result.stderr
    assert "is Postgres up and DATABASE_URL right?" in (fleet.directory / "app1.log").read_text()
    assert states == {"app1": "DRAIN", "app2": "UP", "app3": "UP"}
    assert fleet.pid("app1") != old_pids["app1"]
    assert {name: fleet.pid(name) for name in NAMES[1:]} == {name: old_pids[name] for name in NAMES[1:]}
