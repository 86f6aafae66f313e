"""Events spooled in a container during a Postgres outage survive its stop and removal.

The image keeps the spool at /var/lib/webhook-server/spool; Compose and the manifests put a
volume there. A container that answered 200 from its spool is stopped and removed while
Postgres is still down; a new container on the same volume drains them once Postgres is back.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest
import requests

from tests.harness.containers import SPOOL_PATH, Container, Images, container_url
from tests.harness.gunicorn import STRIPE_SECRET
from tests.harness.load import stored_rows
from tests.harness.polling import wait_for
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.dev.samples import signed_stripe_request, stripe_event

EVENTS = 20
DRAIN_TIMEOUT_SECONDS = 30


@pytest.fixture
def spool_volume(images: Images) -> Iterator[str]:
    name = f"webhook-test-spool-{secrets.token_hex(4)}"
    images.podman.run("volume", "create", name)
    try:
        yield name
    finally:
        images.podman.run("volume", "rm", "--force", name, check=False)


def test_spooled_events_outlive_their_container(
    start_container: Callable[..., Container], own_postgres: LocalPostgres, spool_volume: str
) -> None:
    env = {"DATABASE_URL": container_url(own_postgres.url()), "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET}
    volume = f"{spool_volume}:{SPOOL_PATH}"
    first = start_container(env=env, volumes=[volume])
    first.wait_until_healthy()
    own_postgres.stop()
    acknowledged = []
    for _ in range(EVENTS):
        event = stripe_event()
        body, headers = signed_stripe_request(event, STRIPE_SECRET)
        response = requests.post(first.url("/webhooks/stripe"), data=body, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        assert response.json().get("spooled") is True, response.text
        acknowledged.append(event["id"])
    assert first.stop() < 10 and first.exit_code() == 0, first.logs()
    first.remove()

    own_postgres.start()
    second = start_container(env=env, volumes=[volume])
    second.wait_until_healthy()

    def drained() -> bool:
        stored = {row[1] for row in stored_rows(own_postgres.url())}
        return set(acknowledged) <= stored

    wait_for(drained, DRAIN_TIMEOUT_SECONDS, lambda: f"spooled events in Postgres:\n{second.logs()}")
    stored = [row[1] for row in stored_rows(own_postgres.url())]
    assert sorted(stored) == sorted(acknowledged)
