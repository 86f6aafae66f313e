"""What the README's "Running it in production" promises: a wheel built from the checkout,
installed into a fresh virtualenv (not editable), migrates and serves from any directory. The
package carries its gunicorn configuration and its SQL; nothing is read from the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO_ROOT, STRIPE_SECRET, stored_rows
from tests.harness.dashboard import DASHBOARD_PASSWORD
from tests.harness.gunicorn import kill_group, start_logged, wait_until_healthy
from tests.signers import signed_stripe_request, stripe_event
from webhook_server.dev.localdb import free_port

# What a build reads; copied alone, so stale build/ or egg-info directories of the checkout
# cannot slip a deleted module into the wheel.
BUILD_INPUTS = ("pyproject.toml", "setup.cfg", "README.md", "webhook_server")
# Building and installing fetch from the package index (pip's cache makes it quick when warm).
PIP_TIMEOUT_SECONDS = 600
PIP = (sys.executable, "-m", "pip", "--disable-pip-version-check")


def run(*command: str | Path, **kwargs) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{command} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip wheel` builds from the checkout's build inputs."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO_ROOT / name, source / name)
    run(*PIP, "wheel", "--no-deps", "--quiet", "--wheel-dir", root / "dist", source, timeout=PIP_TIMEOUT_SECONDS)
    (built,) = (root / "dist").glob("webhook_server-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin directory of a fresh virtualenv holding the wheel and its dependencies only."""
    venv = tmp_path_factory.mktemp("install") / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)  # this venv's pip installs into it
    run(*PIP, "--python", venv / "bin/python", "install", "--quiet", "--no-compile", wheel, timeout=PIP_TIMEOUT_SECONDS)
    return venv / "bin"


def test_the_wheel_ships_no_test_or_benchmark_support(wheel: Path) -> None:
    """The test harness (processes, proxies, load), its throwaway Postgres settings and its test
    secrets live under tests/, never in what a production host installs."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        shipped = {name: archive.read(name) for name in names if not name.endswith("/")}
    assert not [name for name in names if name.startswith(("tests/", "bench/")) or "/harness/" in name], names
    # The throwaway server's settings that make a crash lose committed data (tests/harness/postgres.py);
    # not synchronous_commit=off, which the forwarder's own session takes by design (its commits
    # are made again after a crash, never lost: forwarder/dispatcher.py).
    for marker in (STRIPE_SECRET.encode(), b"fsync=off", b"full_page_writes=off"):
        assert not [name for name, data in shipped.items() if marker in data], marker


def fresh_host_environment(**values: str) -> dict[str, str]:
    """This process's environment as a fresh host would have it (none of the checkout's settings
    or Python paths), with ``values`` added."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("WEBHOOK_", "PYTHON"))}
    return {**env, **values}


def test_an_installed_wheel_migrates_and_serves_from_another_directory(
    installed: Path, clean_db: str, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    env = fresh_host_environment(
        DATABASE_URL=clean_db,
        STRIPE_WEBHOOK_SECRET=STRIPE_SECRET,
        WEBHOOK_BIND=f"127.0.0.1:{port}",
        WEBHOOK_WORKERS="1",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    where = run(
        installed / "python", "-c", "import webhook_server; print(webhook_server.__file__)", cwd=elsewhere, env=env
    )
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), where.stdout
    run(installed / "webhook-server", "migrate", cwd=elsewhere, env=env, timeout=60)  # its SQL ships in the wheel

    log_path = tmp_path / "serve.log"
    server = start_logged([str(installed / "webhook-server"), "serve"], log_path, env=env, cwd=elsewhere)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/health", log_path, server)
        event = stripe_event()
        body, headers = signed_stripe_request(event, STRIPE_SECRET)
        response = requests.post(f"http://127.0.0.1:{port}/webhooks/stripe", data=body, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        assert stored_rows(clean_db) == [("stripe", event["id"], event["type"], "pending", 0)]
    finally:
        kill_group(server)


def test_an_installed_wheel_serves_the_dashboard_with_its_templates_and_stylesheet(
    installed: Path, clean_db: str, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    env = fresh_host_environment(
        DATABASE_URL=clean_db,
        WEBHOOK_DASHBOARD_BIND=f"127.0.0.1:{port}",
        WEBHOOK_DASHBOARD_PASSWORD=DASHBOARD_PASSWORD,
        WEBHOOK_DASHBOARD_STATE_DIR=str(tmp_path / "dashboard-state"),
    )
    log_path = tmp_path / "dashboard.log"
    dashboard = start_logged([str(installed / "webhook-server"), "dashboard"], log_path, env=env, cwd=elsewhere)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/login", log_path, dashboard)  # a template from the wheel
        stylesheet = requests.get(f"http://127.0.0.1:{port}/static/dashboard.css", timeout=10)
        assert stylesheet.status_code == 200 and ".timeline" in stylesheet.text
    finally:
        kill_group(dashboard)
