"""Postgres down for 5 s under 100 deliveries/s, three instances behind the shipped HAProxy (issue 15).

Before: every request thread waited WEBHOOK_DB_TIMEOUT on the database, /health queued behind
them past HAProxy's 1 s check timeout, HAProxy took every instance DOWN and answered deliveries
itself with a bare 503. Now /health never waits for a thread and the circuit refuses at once.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness import outage

RATE = 100
OUTAGE_SECONDS = 5.0
DB_TIMEOUT = 1.5
PROBE_INTERVAL = 0.25
# The margin over the probe interval is for this busy 2-core machine (a probe's own connect and
# insert, the answer's way back through HAProxy).
BACK_WITHIN_SECONDS = PROBE_INTERVAL + 0.5


def test_a_database_outage_under_load_takes_no_instance_out_and_every_answer_is_the_apps(tmp_path: Path) -> None:
    run = outage.run(
        tmp_path,
        rate=RATE,
        outage_seconds=OUTAGE_SECONDS,
        durable=False,
        env={"WEBHOOK_DB_TIMEOUT": str(DB_TIMEOUT), "WEBHOOK_DB_PROBE_INTERVAL": str(PROBE_INTERVAL)},
    )
    assert len(run.answers) > RATE * OUTAGE_SECONDS, "the load did not hold its rate"
    # HAProxy never took a server out, and never answered a delivery itself.
    assert {name: server["chkdown"] for name, server in run.servers.items()} == dict.fromkeys(outage.NAMES, "0")
    assert run.haproxy_trouble == []
    checks = [c for c in run.watch.checks if run.stopped_at <= c.sent_at <= run.back_at]
    assert checks and {c.status for c in checks} == {200}, "an instance did not answer /health during the outage"
    assert run.not_from_the_app() == []
    refused = [a for a in run.answers if a.status != 200]
    assert refused, "no delivery met the outage"
    assert {(a.status, a.error) for a in refused} == {(503, "database_unavailable")}
    assert all(a.retry_after for a in refused)
    # Every delivery answered by the app within its database timeout, plus a margin.
    assert run.slowest() <= DB_TIMEOUT + 0.5
    # Stored again within a probe interval of Postgres' return, and no 503 after that.
    recovery = run.first_stored_after_back()
    assert recovery is not None and recovery <= BACK_WITHIN_SECONDS
    assert [a for a in refused if a.sent_at > run.back_at + BACK_WITHIN_SECONDS] == []
