"""deploy/container/compose.yaml brought up with podman-compose, fed signed deliveries, taken down.

The file runs as shipped but for what this machine cannot do: no image registry (so no
Postgres image: the tests' Postgres on the host's loopback stands in, and the services reach
it through slirp4netns instead of the project's network), the image built from the checkout
instead of the `build:` section, and free ports instead of 8001, 8002 and 8100.
"""

from __future__ import annotations

import functools
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.harness.containers import NETWORK, Images, container_url
from tests.harness.gunicorn import STRIPE_SECRET
from tests.harness.load import stored_rows
from tests.harness.polling import wait_for
from webhook_server.dev.localdb import free_port
from webhook_server.dev.samples import signed_stripe_request, stripe_event

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "container" / "compose.yaml"
UP_TIMEOUT_SECONDS = 120
EVENTS = 10


def for_this_machine(images: Images, database_url: str, directory: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """The shipped file with the substitutions above; returns it and each service's host port."""
    compose = yaml.safe_load(COMPOSE.read_text())
    compose["name"] = f"webhook-test-{secrets.token_hex(4)}"
    services = compose["services"]
    del services["postgres"]
    ports = {}
    for name, service in services.items():
        service.pop("build", None)
        service["image"] = images.image
        service["network_mode"] = NETWORK
        depends = service.get("depends_on", {})
        depends.pop("postgres", None)
        if not depends:
            service.pop("depends_on", None)
        if "ports" in service:
            [mapping] = service["ports"]
            ports[name] = free_port()
            service["ports"] = [f"127.0.0.1:{ports[name]}:{mapping.rpartition(':')[2]}"]
    values = {
        "database-url": container_url(database_url),
        "stripe-webhook-secret": STRIPE_SECRET,
        "dashboard-password": "correct horse battery staple",
    }
    del compose["secrets"]["postgres-password"]
    for name, value in values.items():
        (directory / name).write_text(value)
        (directory / name).chmod(0o444)
        compose["secrets"][name] = {"file": str(directory / name)}
    return compose, ports


@pytest.fixture
def compose_command(images: Images, tmp_path: Path) -> Iterator[list[str]]:
    """podman-compose on a file of the test's, taken down with its volumes afterwards."""
    runtime = ["--podman-args", f"--runtime {images.podman.runtime}"] if images.podman.runtime else []
    command = [sys.executable, "-m", "podman_compose", *runtime, "--file", str(tmp_path / "compose.yaml")]
    try:
        yield command
    finally:
        subprocess.run([*command, "down", "--volumes"], capture_output=True, timeout=UP_TIMEOUT_SECONDS)


def test_compose_up_stores_and_handles_every_event(
    images: Images, clean_db: str, tmp_path: Path, compose_command: list[str]
) -> None:
    compose, ports = for_this_machine(images, clean_db, tmp_path)
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump(compose))
    up = subprocess.run(
        [*compose_command, "up", "--detach"], capture_output=True, text=True, timeout=UP_TIMEOUT_SECONDS
    )
    assert up.returncode == 0, up.stderr[-5000:]

    def answering(port: int, path: str) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            return False

    for name, path in (("server-1", "/health"), ("server-2", "/health"), ("dashboard", "/login")):
        wait_for(functools.partial(answering, ports[name], path), UP_TIMEOUT_SECONDS, f"{name} answering {path}")
    sent = []
    for number in range(EVENTS):
        event = stripe_event()
        body, headers = signed_stripe_request(event, STRIPE_SECRET)
        port = ports["server-1" if number % 2 else "server-2"]
        response = requests.post(f"http://127.0.0.1:{port}/webhooks/stripe", data=body, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        sent.append(event["id"])

    def all_handled() -> bool:
        rows = stored_rows(clean_db)
        return sorted(row[1] for row in rows) == sorted(sent) and {row[3] for row in rows} == {"done"}

    wait_for(all_handled, 30, lambda: f"every event stored and done: {stored_rows(clean_db)}")
    down = subprocess.run([*compose_command, "down"], capture_output=True, text=True, timeout=UP_TIMEOUT_SECONDS)
    assert down.returncode == 0, down.stderr[-5000:]
