"""`webhook-server check` on a Patroni cluster: quiet when a failover keeps every acknowledged
event, a warning when it would not (asynchronous standbys), a problem when DATABASE_URL
reaches a standby. The single-server warning is in tests/acceptance/test_check.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.acceptance.test_check import check, problems
from tests.harness.failover import GITHUB_SECRET
from tests.harness.patroni import PatroniCluster
from tests.harness.polling import wait_for
from webhook_server.errors import EXIT_FAILURE, EXIT_OK

SETTLE_SECONDS = 30.0


def test_synchronous_replication_through_haproxy_passes_without_a_warning(healthy_cluster: PatroniCluster) -> None:
    result = check(DATABASE_URL=healthy_cluster.database_url(), GITHUB_WEBHOOK_SECRET=GITHUB_SECRET)
    assert (result.returncode, result.stderr) == (EXIT_OK, ""), result.stderr
    assert result.stdout.startswith("ok:")


def test_a_url_that_reaches_a_standby_is_a_problem(healthy_cluster: PatroniCluster) -> None:
    standby = healthy_cluster.sync_standby()
    assert standby is not None
    result = check(DATABASE_URL=healthy_cluster.member_url(standby), GITHUB_WEBHOOK_SECRET=GITHUB_SECRET)
    assert result.returncode == EXIT_FAILURE
    assert problems(result) == [
        "DATABASE_URL: it reaches a standby, which refuses writes; point it at the primary: HAProxy's postgres "
        "frontend (deploy/patroni/haproxy-postgres.cfg), or a multi-host URL with target_session_attrs=read-write"
    ]


@pytest.fixture
def asynchronous_cluster(healthy_cluster: PatroniCluster) -> Iterator[PatroniCluster]:
    """synchronous_mode off until the test ends; then on again, with a sync standby chosen."""
    healthy_cluster.edit_config({"synchronous_mode": False})
    try:
        yield healthy_cluster
    finally:
        healthy_cluster.edit_config({"synchronous_mode": True})
        wait_for(healthy_cluster.sync_standby, SETTLE_SECONDS, "a synchronous standby again")


def test_asynchronous_standbys_are_a_warning(asynchronous_cluster: PatroniCluster) -> None:
    env = {"DATABASE_URL": asynchronous_cluster.database_url(), "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET}

    def warned() -> list[str]:
        result = check(**env)
        assert result.returncode == EXIT_OK, result.stderr
        return problems(result)

    # Patroni empties synchronous_standby_names within a loop_wait of the change.
    assert wait_for(warned, SETTLE_SECONDS, "the warning") == [
        "warning: DATABASE_URL: 2 standby(s) replicate from this server asynchronously (synchronous_standby_names "
        "is empty): promoting one can lose events already acknowledged; set synchronous_mode: true in Patroni "
        "(deploy/patroni/patroni.yml) or synchronous_standby_names (docs/how-to/high-availability.md)"
    ]
