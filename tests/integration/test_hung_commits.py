"""Commits that never return, under load, with the spool on: every delivery is still answered.

A primary whose synchronous standby is gone makes every commit wait, with no error and no end
(statement_timeout does not cover that wait): what a Postgres left running by a dead Patroni
does once its standby is promoted elsewhere (issue 26), or any server configured with a
synchronous standby that is not there. The inbox's writer then sits in one commit and reports
nothing; the deliveries that gave up waiting must open the circuit, so that the rest are
spooled at once instead of each holding a thread for WEBHOOK_DB_TIMEOUT (measured before:
330 of 444 deliveries at 100/s failed GitHub's 10 s timeout).
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

from tests.conftest import gunicorn_servers
from tests.harness.load import SignedLoad, assert_each_acknowledged_event_stored_once
from tests.harness.polling import wait_for
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.spool.store import read_summary

RATE = 100
HUNG_SECONDS = 6.0
# GitHub's timeout: an answer later than this is a lost delivery.
SENDER_TIMEOUT_SECONDS = 10.0
DRAIN_DEADLINE_SECONDS = 30.0


def set_synchronous_standby(url: str, names: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{names}'")
        conn.execute("SELECT pg_reload_conf()")


def test_commits_that_never_return_are_spooled_and_drained_once_they_do(
    own_postgres: LocalPostgres, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir(mode=0o700)
    url = own_postgres.url()
    with gunicorn_servers(url, tmp_path, WEBHOOK_SPOOL_DIR=str(spool_dir), WEBHOOK_THREADS="8") as start:
        server = start()
        with SignedLoad(server.url("/webhooks/stripe"), RATE, senders=200, timeout=SENDER_TIMEOUT_SECONDS) as load:
            wait_for(lambda: len(load.ledger.acknowledged) >= 50, 20, "50 deliveries stored first")
            set_synchronous_standby(url, "nobody")  # no such standby: every commit from now on waits
            time.sleep(HUNG_SECONDS)
        assert load.ledger.failures == []
        assert read_summary(spool_dir).events >= RATE * HUNG_SECONDS / 2, "the deliveries were not spooled"
        set_synchronous_standby(url, "")  # the waiting commits return; the spool drains
        wait_for(lambda: read_summary(spool_dir).events == 0, DRAIN_DEADLINE_SECONDS, "the spool drained")
    assert_each_acknowledged_event_stored_once(load.ledger, url)
