"""`webhook-server check`'s failover warnings, from what replication.sql reads: one case each.

The cluster tests (tests/ha/test_check.py) see the first two on real servers; the last needs
a synchronous standby that is configured and gone, which Patroni does not leave in place."""

from __future__ import annotations

from webhook_server.db import Replication
from webhook_server.operator.check import failover_warnings


def replication(names: str = "", streaming: int = 0, synchronous: int = 0, hidden: int = 0) -> Replication:
    return Replication(False, names, streaming, synchronous, hidden)


def test_a_single_server_has_nothing_to_fail_over_to() -> None:
    (warning,) = failover_warnings(replication())
    assert "no standby replicates from this server" in warning


def test_asynchronous_standbys_can_lose_acknowledged_events() -> None:
    (warning,) = failover_warnings(replication(streaming=2))
    assert "2 standby(s) replicate from this server asynchronously" in warning


def test_synchronous_standbys_configured_and_none_connected_are_named() -> None:
    (warning,) = failover_warnings(replication("db2", streaming=1))
    assert "synchronous_standby_names is 'db2' but no standby is synchronous now" in warning
    (warning,) = failover_warnings(replication("*"))  # strict mode, every standby gone
    assert "synchronous_standby_names is '*' but no standby is synchronous now" in warning


def test_a_synchronous_standby_connected_or_unseen_is_no_warning() -> None:
    assert failover_warnings(replication("db2", streaming=2, synchronous=1)) == []
    # A role without pg_monitor does not see sync_state: nothing to say it is gone.
    assert failover_warnings(replication("db2", streaming=2, hidden=2)) == []
