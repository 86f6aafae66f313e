"""A streaming replica of a LocalPostgres, made with pg_basebackup: for reads from a replica."""

from __future__ import annotations

from pathlib import Path

import psycopg

from tests.harness.polling import wait_for
from webhook_server.dev.localdb import LocalPostgres

CAUGHT_UP_TIMEOUT_SECONDS = 10


def start_replica(primary: LocalPostgres, data_dir: Path) -> LocalPostgres:
    """A standby of ``primary`` streaming from it (pg_basebackup -R writes its primary_conninfo),
    started and accepting read-only connections. Its user and password are the primary's."""
    replica = LocalPostgres(data_dir, password=primary.password)
    replica._prepare_data_dir()  # owned by the server's user, as initdb would leave it
    replica._run(
        "pg_basebackup", "-D", str(replica.data_dir), "-R", "-X", "stream", "--checkpoint=fast", "-d", primary.url()
    )
    replica.data_dir.chmod(0o700)  # Postgres refuses a data directory others may read
    replica.start()
    return replica


def wait_caught_up(primary: LocalPostgres, replica: LocalPostgres) -> None:
    """Until the replica has replayed everything the primary had written when this was called."""
    with psycopg.connect(primary.url(), autocommit=True) as conn:
        (target,) = conn.execute("SELECT pg_current_wal_lsn()").fetchone() or (None,)

    def caught_up() -> bool:
        with psycopg.connect(replica.url(), autocommit=True) as conn:
            row = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()
        return bool(row and row[0])

    wait_for(caught_up, CAUGHT_UP_TIMEOUT_SECONDS, "the replica caught up with the primary")
