"""The image built from the checkout: what it is made of, and each of its commands at work."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import requests

from tests.harness.containers import DOCKERFILE, IMAGE_UID, Container, Images, container_url, run_once
from tests.harness.gunicorn import STRIPE_SECRET
from tests.harness.load import stored_rows
from tests.harness.polling import wait_for
from webhook_server.dev.samples import signed_stripe_request, stripe_event

SECRET_IN_CONTAINER = "/run/secrets/stripe-webhook-secret"
# Run in the image and here: the sha256 of every module of the installed package.
PACKAGE_DIGEST = (
    "import hashlib, pathlib, webhook_server; root = pathlib.Path(webhook_server.__file__).parent; "
    "print(hashlib.sha256(b''.join(p.read_bytes() for p in sorted(root.rglob('*.py')))).hexdigest())"
)


def secret_file(tmp_path: Path, value: str) -> str:
    """A secret mounted as a file, as Compose and Kubernetes do, for the image's user to read."""
    path = tmp_path / "stripe-webhook-secret"
    path.write_text(value)
    path.chmod(0o444)
    return f"{path}:{SECRET_IN_CONTAINER}:ro"


def test_the_image_runs_unprivileged_with_gunicorn_as_pid_1(images: Images) -> None:
    image = json.loads(images.podman.run("image", "inspect", images.image))[0]
    config = image["Config"]
    assert config["User"] == f"{IMAGE_UID}:{IMAGE_UID}"
    assert config["Entrypoint"] == ["/opt/webhook-server/bin/webhook-server"]
    assert config["Cmd"] == ["serve"]
    assert config["StopSignal"] == "SIGTERM"
    assert "WEBHOOK_BIND=0.0.0.0:8000" in config["Env"]
    assert "WEBHOOK_SHUTDOWN_CAP=8" in config["Env"], "docker's and podman's SIGKILL comes 10 s after SIGTERM"
    assert config["Labels"]["org.opencontainers.image.title"] == "webhook-server"
    assert config["Labels"]["org.opencontainers.image.version"] == version("webhook-server"), "ARG VERSION"
    assert image["Healthcheck"]["Test"][0] == "CMD", "built without --format docker?"
    # The default base is what users pull; the tests pass a local one.
    assert re.search(r"^ARG BASE_IMAGE=python:3\.12-slim$", DOCKERFILE.read_text(), re.MULTILINE)
    no_compiler = run_once(
        images.podman, images.image, "-c",
        "import shutil, os; print([shutil.which(c) for c in ('gcc', 'cc', 'pip')], os.getuid())",
        entrypoint="python3",
    )  # fmt: skip
    assert no_compiler.stdout.strip() == f"[None, None, None] {IMAGE_UID}", no_compiler.stderr


def test_the_image_holds_the_checkout_s_code(images: Images) -> None:
    """A build cache that reused an old layer would test yesterday's code: the package's digest."""
    installed = run_once(images.podman, images.image, "-c", PACKAGE_DIGEST, entrypoint="python3")
    assert installed.returncode == 0, installed.stderr
    local = subprocess.run([sys.executable, "-c", PACKAGE_DIGEST], capture_output=True, text=True, check=True)
    assert installed.stdout == local.stdout


def test_serve_stores_a_signed_delivery_with_its_secret_from_a_file(
    start_container: Callable[..., Container], images: Images, clean_db: str, tmp_path: Path
) -> None:
    container = start_container(
        env={"DATABASE_URL": container_url(clean_db), "STRIPE_WEBHOOK_SECRET_FILE": SECRET_IN_CONTAINER},
        volumes=[secret_file(tmp_path, STRIPE_SECRET)],
    )
    container.wait_until_healthy()
    event = stripe_event()
    body, headers = signed_stripe_request(event, STRIPE_SECRET)
    response = requests.post(container.url("/webhooks/stripe"), data=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert [row[1] for row in stored_rows(clean_db)] == [event["id"]]
    # The gunicorn master is PID 1: the orchestrator's SIGTERM reaches it, not a shell.
    processes = images.podman.run("top", container.name, "pid", "args")
    assert re.search(r"^\s*1\s+.*gunicorn -c python:webhook_server\.web\.config", processes, re.MULTILINE), processes
    # The image's HEALTHCHECK, run as the orchestrator runs it.
    images.podman.run("healthcheck", "run", container.name)


def test_refused_deliveries_are_answered_4xx_and_not_stored(
    start_container: Callable[..., Container], clean_db: str
) -> None:
    container = start_container(env={"DATABASE_URL": container_url(clean_db), "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET})
    container.wait_until_healthy()
    event = stripe_event()
    body, headers = signed_stripe_request(event, "whsec_someone_else")
    url = container.url("/webhooks/stripe")
    assert requests.post(url, data=body, headers=headers, timeout=10).status_code == 400
    forged = {**headers, "Stripe-Signature": "t=1,v1=" + "\ud800\x00\x1b[31m".encode("utf-8", "surrogatepass").hex()}
    assert requests.post(url, data=body, headers=forged, timeout=10).status_code == 400
    assert requests.post(url, data=b"x" * (2 * 1024 * 1024), headers=headers, timeout=10).status_code == 413
    assert requests.post(container.url("/webhooks/\x00%ff"), data=body, timeout=10).status_code == 404
    assert stored_rows(clean_db) == []


def test_migrate_and_check_run_as_one_shot_commands(images: Images, durable_database_url: str) -> None:
    env = {"DATABASE_URL": container_url(durable_database_url), "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET}
    migrate = run_once(images.podman, images.image, "migrate", env=env)
    assert migrate.returncode == 0 and "schema already up to date" in migrate.stdout, migrate.stderr
    check = run_once(images.podman, images.image, "check", env=env)
    assert check.returncode == 0, check.stderr
    unreachable = run_once(images.podman, images.image, "check",
                           env={**env, "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"})  # fmt: skip
    assert unreachable.returncode == 1
    assert "DATABASE_URL: cannot connect" in unreachable.stderr, unreachable.stderr


def test_worker_handles_what_serve_stored(start_container: Callable[..., Container], clean_db: str) -> None:
    database = container_url(clean_db)
    server = start_container(env={"DATABASE_URL": database, "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET})
    start_container("worker", env={"DATABASE_URL": database, "WEBHOOK_HANDLER_MODULES": "webhook_server.dev.handlers"})
    server.wait_until_healthy()
    event = stripe_event()
    body, headers = signed_stripe_request(event, STRIPE_SECRET)
    assert requests.post(server.url("/webhooks/stripe"), data=body, headers=headers, timeout=10).status_code == 200

    def handled() -> bool:
        return [row[3] for row in stored_rows(clean_db)] == ["done"]

    wait_for(handled, 30, lambda: f"event handled: {stored_rows(clean_db)}")


def test_dashboard_serves_its_login_page(start_container: Callable[..., Container], clean_db: str) -> None:
    container = start_container(
        "dashboard",
        env={"DATABASE_URL": container_url(clean_db), "WEBHOOK_DASHBOARD_PASSWORD": "correct horse battery"},
        container_port=8100,
    )

    def login_page() -> bool:
        if container.state()["Status"] == "exited":
            raise AssertionError(f"the dashboard exited:\n{container.logs()}")
        try:
            return requests.get(container.url("/login"), timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(login_page, 30, container.logs)
