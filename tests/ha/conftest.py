"""One Patroni cluster for the HA tests (etcd, three members, HAProxy), booted once: about 10 s."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.harness.failover import Stack
from tests.harness.patroni import PACKAGES, PatroniCluster, missing_programs, running_cluster
from webhook_server.migrations import migrate


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PatroniCluster]:
    missing = missing_programs()
    if missing:
        message = f"the HA tests need {', '.join(missing)}: apt-get install {PACKAGES} (scripts/test does as root)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI runs as root on Debian: it has no excuse to skip them
        pytest.skip(message)
    with running_cluster(tmp_path_factory.mktemp("patroni")) as running:
        migrate(running.database_url())
        yield running


@pytest.fixture(scope="package")
def stack(cluster: PatroniCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The server, a worker and the dashboard on HAProxy's `postgres` frontend."""
    running = Stack(tmp_path_factory.mktemp("stack"), cluster.database_url())
    try:
        yield running
    finally:
        running.kill()


@pytest.fixture
def healthy_cluster(cluster: PatroniCluster) -> PatroniCluster:
    """The cluster back to a leader, two streaming standbys (one synchronous) and HAProxy
    routing to the leader only, whatever the test before did to it."""
    cluster.wait_until_replicating(len(cluster.members) - 1)
    cluster.wait_until_routed()
    return cluster
