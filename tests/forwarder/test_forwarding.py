"""``webhook-server forward`` end to end: real Postgres, real forwarder processes, a real destination app."""

from __future__ import annotations

import re
import statistics
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psycopg

from tests.forwarder.conftest import ForwarderProcess, cli, deliveries, destination, query, store_events
from tests.forwarder.destination_app import DestinationApp
from tests.harness.polling import wait_for
from tests.integration.test_migrate import fresh_database
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.migrations import migrate

Start = Callable[..., ForwarderProcess]


def test_every_event_arrives_signed_with_its_body_intact_and_only_where_it_is_wanted(
    forward_db: str, app: DestinationApp, start_forwarder: Start
) -> None:
    start_forwarder(
        destination("billing", app.url("/billing"), event_types=["invoice.*"], pass_headers=["X-Request-Id"])
        + destination("github-only", app.url("/github"), endpoints=["github"])
    )
    # Bytes a re-serialisation would change: key order, spacing, escapes, a lone surrogate, NUL.
    odd = b'{"type":"invoice.paid",  "id":"%s", "z":1, "a":"\\ud800 \\u0000 \\u00e9 \xc3\xa9"}'
    sent = store_events(
        forward_db, 20, headers={"x-request-id": "req-1"}, body=lambda event_id: odd.replace(b"%s", event_id.encode())
    )
    store_events(forward_db, 5, prefix="charge", event_type="charge.succeeded")

    wait_for(lambda: len(app.at("/billing")) >= 20, 20, "20 events at the destination")
    time.sleep(0.5)  # anything that should not arrive has had the time to
    got = app.at("/billing")
    assert sorted(r.headers["webhook-server-event-id"] for r in got) == sorted(sent)
    assert all(r.verified for r in got), "every request verifies with the destination's secret"
    for received in got:
        event_id = received.headers["webhook-server-event-id"]
        assert received.body == odd.replace(b"%s", event_id.encode())
        assert received.headers["webhook-id"] == f"stripe_{event_id}"
        assert received.headers["x-request-id"] == "req-1"
        assert received.headers["webhook-server-endpoint"] == "stripe"
    assert app.at("/github") == []
    assert deliveries(forward_db, "billing", "delivered") == 20
    assert query(forward_db, "SELECT count(*) FROM webhook_deliveries WHERE destination = 'github-only'")[0][0] == 0


def test_a_500_is_retried_with_the_same_webhook_id_then_delivered(
    forward_db: str, app: DestinationApp, start_forwarder: Start
) -> None:
    app.behave("/flaky", statuses=[500, 503, 200])
    start_forwarder(destination("flaky", app.url("/flaky"), retry_base=0.2, retry_cap=0.4))
    store_events(forward_db, 1)

    wait_for(lambda: deliveries(forward_db, "flaky", "delivered") == 1, 20, "the delivery delivered")
    got = app.at("/flaky")
    assert len(got) == 3
    assert len({r.headers["webhook-id"] for r in got}) == 1, "one webhook-id across retries"
    assert all(r.verified for r in got)
    history = query(
        forward_db, "SELECT attempt, outcome, status_code, response FROM webhook_delivery_attempts ORDER BY id"
    )
    assert [(a, o, s) for a, o, s, _ in history] == [(1, "failed", 500), (2, "failed", 503), (3, "delivered", 200)]
    assert history[0][3] == "the destination's error page"


def test_retry_after_is_honoured(forward_db: str, app: DestinationApp, start_forwarder: Start) -> None:
    app.behave("/busy", statuses=[429, 200], retry_after="2")
    start_forwarder(destination("busy", app.url("/busy"), retry_base=0.1, retry_cap=0.2))
    store_events(forward_db, 1)

    wait_for(lambda: len(app.at("/busy")) == 2, 20, "the retry")
    first, second = app.at("/busy")
    assert second.at - first.at >= 1.9, "the destination asked for 2 s, not the 0.1 s backoff"


def test_a_destination_that_hangs_or_fails_never_delays_another(
    forward_db: str, app: DestinationApp, start_forwarder: Start
) -> None:
    """One destination hangs 30 s on every request, one answers 500: the healthy one's latency
    from commit to arrival stays that of an idle forwarder."""
    app.behave("/hang", hang=30)
    app.behave("/fail", statuses=[500])
    start_forwarder(
        destination("healthy", app.url("/ok"), concurrency=4)
        + destination("hangs", app.url("/hang"), concurrency=2, timeout=2, retry_base=0.1, retry_cap=0.2)
        + destination("fails", app.url("/fail"), concurrency=2, retry_base=0.05, retry_cap=0.1, pause_after="off")
    )
    committed: dict[str, float] = {}
    for batch in range(25):  # 25 commits over 2.5 s, 4 events each, the others busy all along
        committed |= store_events(forward_db, 4, prefix=f"b{batch}")
        time.sleep(0.1)
    wait_for(lambda: len(app.at("/ok")) >= 100, 30, "100 events at the healthy destination")

    latencies = sorted(r.at - committed[r.headers["webhook-server-event-id"]] for r in app.at("/ok"))
    p99 = latencies[98]
    assert p99 < 1.0, f"healthy destination p99 {p99:.3f} s, median {statistics.median(latencies):.3f} s"
    assert len(app.at("/hang")) >= 2, "the hanging destination was being tried meanwhile"
    assert len(app.at("/fail")) >= 20, "the failing destination was being retried meanwhile"
    timed_out = query(
        forward_db,
        "SELECT count(*) FROM webhook_delivery_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id "
        "WHERE d.destination = 'hangs' AND a.error LIKE 'timed out after%%'",
    )[0][0]
    assert timed_out >= 2


def test_out_of_attempts_is_dead_for_that_destination_only_and_replay_sends_it_again(
    forward_db: str, app: DestinationApp, start_forwarder: Start
) -> None:
    app.behave("/down", statuses=[500])
    start_forwarder(
        destination("down", app.url("/down"), max_attempts=2, retry_base=0.1, retry_cap=0.1, pause_after="off")
        + destination("up", app.url("/up"))
    )
    store_events(forward_db, 3)
    wait_for(lambda: deliveries(forward_db, "down", "dead") == 3, 20, "3 dead deliveries")
    assert deliveries(forward_db, "up", "delivered") == 3
    assert len(app.at("/down")) == 6

    app.behave("/down", statuses=[200])
    replayed = cli(forward_db, "destinations", "replay", "down", "--dead", "--since", "1h")
    assert replayed.returncode == 0, replayed.stderr
    assert "3 deliveries due now" in replayed.stdout
    wait_for(lambda: deliveries(forward_db, "down", "delivered") == 3, 20, "the replayed deliveries delivered")

    again = cli(forward_db, "destinations", "replay", "down", "--event", "evt_00001")
    assert again.returncode == 0, again.stderr
    wait_for(lambda: len(app.at("/down")) == 10, 20, "the one event sent again")
    ids = [r.headers["webhook-id"] for r in app.at("/down") if r.headers["webhook-server-event-id"] == "evt_00001"]
    assert len(ids) == 4 and len(set(ids)) == 1, "one webhook-id for every attempt and replay"
    outcomes = query(
        forward_db,
        "SELECT a.outcome FROM webhook_delivery_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id "
        "JOIN webhook_events e ON e.id = d.event_row WHERE e.event_id = 'evt_00001' AND d.destination = 'down' "
        "ORDER BY a.id",
    )
    assert [o for (o,) in outcomes] == ["failed", "failed", "replayed", "delivered", "replayed", "delivered"]

    unknown = cli(forward_db, "destinations", "replay", "nope", "--event", "evt_00001")
    assert unknown.returncode == 1 and "no destination 'nope'" in unknown.stderr

    removed = cli(forward_db, "destinations", "remove", "down", "--yes")
    assert removed.returncode == 0 and "down: removed, with 3 deliveries" in removed.stdout, removed.stderr
    assert query(forward_db, "SELECT count(*) FROM webhook_deliveries WHERE destination = 'down'")[0][0] == 0
    assert "down" not in cli(forward_db, "destinations", "list").stdout
    assert cli(forward_db, "destinations", "remove", "down", "--yes").returncode == 1


def test_sustained_failure_pauses_the_destination_and_resume_delivers_the_backlog(
    forward_db: str, app: DestinationApp, start_forwarder: Start, tmp_path: object
) -> None:
    app.behave("/broken", statuses=[500])
    forwarder = start_forwarder(
        destination(
            "broken",
            app.url("/broken"),
            retry_base=0.1,
            retry_cap=0.2,
            pause_after=1,
            pause_failures=3,
            max_attempts=100,
        ),
        WEBHOOK_FORWARD_METRICS_BIND="127.0.0.1:0",
    )
    store_events(forward_db, 3)
    wait_for(
        lambda: query(forward_db, "SELECT paused_at IS NOT NULL FROM webhook_destinations WHERE name = 'broken'")[0][0],
        20,
        "the destination paused",
    )
    assert "destination broken paused" in forwarder.log()
    port = int(re.findall(r"metrics on http://127.0.0.1:(\d+)/metrics", forwarder.log())[0])

    def scraped() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return response.read().decode()

    wait_for(lambda: 'webhook_forward_destination_paused{destination="broken"} 1.0' in scraped(), 10, "paused metric")

    app.behave("/broken", statuses=[200])
    tried = len(app.at("/broken"))
    store_events(forward_db, 5, prefix="later")
    time.sleep(1.0)
    assert len(app.at("/broken")) == tried, "a paused destination gets nothing"
    listed = cli(forward_db, "destinations", "list")
    assert "paused" in listed.stdout and "broken" in listed.stdout

    resumed = cli(forward_db, "destinations", "resume", "broken")
    assert resumed.returncode == 0, resumed.stderr
    wait_for(lambda: deliveries(forward_db, "broken", "delivered") == 8, 20, "the backlog delivered after resume")
    wait_for(lambda: 'webhook_forward_destination_paused{destination="broken"} 0.0' in scraped(), 10, "unpaused metric")


def test_a_forwarder_killed_mid_attempt_loses_nothing(
    forward_db: str, app: DestinationApp, start_forwarder: Start
) -> None:
    """kill -9 while attempts hang: when their lease runs out another forwarder delivers them, and
    the history says the first attempts were lost."""
    app.behave("/slow", hang=10)
    settings = {"timeout": 3, "concurrency": 2, "retry_base": 0.1, "retry_cap": 0.1}
    first = start_forwarder(destination("slow", app.url("/slow"), **settings))
    store_events(forward_db, 4)
    wait_for(lambda: len(app.at("/slow")) >= 2, 10, "two attempts running")
    first.kill()
    app.behave("/slow", statuses=[200])
    start_forwarder(destination("slow", app.url("/slow"), **settings))
    wait_for(lambda: deliveries(forward_db, "slow", "delivered") == 4, 40, "every delivery delivered")
    # The first held all 4: 2 sending, 2 waiting for a thread; each comes back as a lost attempt.
    lost = query(forward_db, "SELECT count(*) FROM webhook_delivery_attempts WHERE outcome = 'lost'")[0][0]
    assert lost == 4
    assert len({r.headers["webhook-id"] for r in app.at("/slow")}) == 4


def test_hostile_ids_and_answers_are_stored_and_shown_escaped(
    forward_db: str, app: DestinationApp, start_forwarder: Start
) -> None:
    """An event id with CR LF and an escape sequence, an answer with NUL, invalid UTF-8 and a
    terminal escape: the attempt is made and recorded, `events show` prints it all escaped."""
    app.behave(
        "/odd",
        statuses=[500, 200],
        answer=b"nul \x00 half \xed\xa0\x80 clear \x1b[2J done",
        reason="Bad\x00Thing \xff",
    )
    start_forwarder(destination("odd", app.url("/odd"), retry_base=0.1, retry_cap=0.1))
    hostile = "evt_\r\nInjected: yes \x1b[31m"
    with psycopg.connect(forward_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO webhook_events (provider, event_id, event_type, body, headers) "
            "VALUES ('stripe', %s, 'invoice.paid\x1b]0;x\x07', %s, '{}')",
            (hostile, b'{"id":"x"}'),
        )
    wait_for(lambda: deliveries(forward_db, "odd", "delivered") == 1, 20, "the hostile event delivered")
    first = app.at("/odd")[0]
    assert "injected" not in first.headers and first.verified
    assert first.headers["webhook-server-event-id"] == "evt_%0D%0AInjected%3A%20yes%20%1B%5B31m"
    assert first.headers["webhook-id"].startswith("stripe_sha256_")

    (kept,) = query(forward_db, "SELECT response FROM webhook_delivery_attempts WHERE outcome = 'failed'")[0]
    assert kept == "nul \\x00 half \\xed\\xa0\\x80 clear \x1b[2J done"

    shown = cli(forward_db, "events", "show", hostile)
    assert shown.returncode == 0, shown.stderr
    assert "deliveries to destinations:" in shown.stdout and "odd" in shown.stdout
    (error,) = query(forward_db, "SELECT error FROM webhook_delivery_attempts WHERE outcome = 'failed'")[0]
    assert error.startswith("HTTP 500 Bad\\x00Thing")
    assert "HTTP 500 Bad\\x00Thing" in shown.stdout
    assert "\x1b" not in shown.stdout


def test_sigterm_gives_back_what_was_not_sent_and_exits_0_within_the_cap(
    forward_db: str, app: DestinationApp, start_forwarder: Start
) -> None:
    """One attempt hangs past the cap, one delivery waits for the thread: the first is aborted and
    due again at once, the second given back uncounted; exit 0 within WEBHOOK_SHUTDOWN_CAP."""
    app.behave("/hang", hang=30)
    forwarder = start_forwarder(
        destination("hangs", app.url("/hang"), concurrency=1, timeout=20), WEBHOOK_SHUTDOWN_CAP="3"
    )
    store_events(forward_db, 2)
    wait_for(lambda: len(app.at("/hang")) == 1, 10, "the first attempt running")
    sent = time.monotonic()
    forwarder.terminate()
    assert forwarder.process.wait(10) == 0
    assert time.monotonic() - sent < 3.0 + 1.0
    rows = query(
        forward_db,
        "SELECT d.status, d.attempts, d.next_attempt_at <= now(), a.outcome, a.error FROM webhook_deliveries d "
        "JOIN webhook_delivery_attempts a ON a.delivery_id = d.id ORDER BY d.id",
    )
    (aborted, given_back) = rows
    assert aborted[:4] == ("failed", 1, True, "failed") and "the forwarder was stopping" in aborted[4]
    assert given_back[:4] == ("pending", 0, True, "given_back")
    assert len(app.at("/hang")) == 1


def test_an_ordered_destination_keeps_each_endpoints_order_across_retries_and_a_kill_9(
    forward_db: str, app: DestinationApp, start_forwarder: Start
) -> None:
    """Two endpoints, 40 events each; some answered 500 once; the forwarder killed mid-stream and
    another started: each endpoint's events are accepted in the order stored, none missing."""
    ids = {endpoint: [f"{endpoint}_{n:05d}" for n in range(40)] for endpoint in ("stripe", "github")}
    app.behave("/ordered", delay=0.02, fail_once={ids["stripe"][3], ids["stripe"][17], ids["github"][5]})
    settings = {"ordered": True, "timeout": 1, "retry_base": 0.1, "retry_cap": 0.2, "concurrency": 4}
    first = start_forwarder(destination("ordered", app.url("/ordered"), **settings))
    for endpoint in ids:
        store_events(forward_db, 40, prefix=endpoint, endpoint=endpoint)
    wait_for(lambda: deliveries(forward_db, "ordered", "delivered") >= 20, 30, "some delivered")
    first.kill()
    start_forwarder(destination("ordered", app.url("/ordered"), **settings))
    wait_for(lambda: deliveries(forward_db, "ordered", "delivered") == 80, 60, "every delivery delivered")

    accepted = [r.headers["webhook-server-event-id"] for r in app.at("/ordered") if 200 <= r.status < 300]
    for endpoint, expected in ids.items():
        mine = [event_id for event_id in accepted if event_id.startswith(endpoint)]
        assert list(dict.fromkeys(mine)) == expected, f"{endpoint} out of order"
    assert len([r for r in app.at("/ordered") if r.status == 500]) == 3


def test_a_database_outage_is_waited_out_and_forwarding_resumes(
    own_postgres: LocalPostgres, app: DestinationApp, secret: str, tmp_path: Path
) -> None:
    url = own_postgres.url()
    config = tmp_path / "destinations.toml"
    config.write_text(destination("app", app.url("/ok")))
    forwarder = ForwarderProcess(url, config, secret, tmp_path / "forward.log")
    try:
        forwarder.wait_ready()
        wait_for(lambda: query(url, "SELECT count(*) FROM webhook_destinations")[0][0] == 1, 10, "registered")
        store_events(url, 3, prefix="before")
        wait_for(lambda: len(app.at("/ok")) == 3, 10, "the first events delivered")
        own_postgres.stop()
        time.sleep(3)
        assert forwarder.process.poll() is None, forwarder.log()
        own_postgres.start()
        store_events(url, 3, prefix="after")
        wait_for(lambda: len(app.at("/ok")) == 6, 30, lambda: "delivered after the outage:\n" + forwarder.log()[-3000:])
        assert "failed, retrying in" in forwarder.log()
    finally:
        forwarder.kill()


def test_a_transform_rewrites_drops_or_fails_each_event(
    forward_db: str, app: DestinationApp, start_forwarder: Start, tmp_path: Path
) -> None:
    start_forwarder(
        destination("slim", app.url("/slim"), transform="tests.forwarder.sample_transforms:slim", max_attempts=1)
    )
    store_events(forward_db, 3)
    wait_for(
        lambda: (
            query(
                forward_db, "SELECT count(*) FROM webhook_deliveries WHERE status IN ('delivered', 'dropped', 'dead')"
            )[0][0]
            == 3
        ),
        20,
        "3 deliveries finished",
    )
    (received,) = app.at("/slim")
    assert received.body == b'{"id":"evt_00000","type":"invoice.paid","amount":1250}' and received.verified
    states = dict(
        query(
            forward_db,
            "SELECT e.event_id, d.status FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_row",
        )
    )
    assert states == {"evt_00000": "delivered", "evt_00001": "dropped", "evt_00002": "dead"}
    (error,) = query(forward_db, "SELECT last_error FROM webhook_deliveries WHERE status = 'dead'")[0]
    assert (
        error.startswith("the transform raised ValueError: no amount in evt_00002 (")
        and "sample_transforms.py" in error
    )


def test_a_transform_that_cannot_be_imported_stops_the_start(forward_db: str, tmp_path: Path, secret: str) -> None:
    config = tmp_path / "destinations.toml"
    config.write_text(destination("slim", "http://127.0.0.1:9/", transform="tests.forwarder.absent:slim"))
    forwarder = ForwarderProcess(forward_db, config, secret, tmp_path / "forward.log")
    assert forwarder.process.wait(30) == 78
    assert "transform 'tests.forwarder.absent:slim' cannot be imported (ModuleNotFoundError" in forwarder.log()


def test_an_unmigrated_database_says_to_migrate_and_forwarding_starts_once_it_is(
    database_url: str, app: DestinationApp, secret: str, tmp_path: Path
) -> None:
    url = fresh_database(database_url, "forward_unmigrated")
    config = tmp_path / "destinations.toml"
    config.write_text(destination("app", app.url("/ok")))
    forwarder = ForwarderProcess(url, config, secret, tmp_path / "forward.log")
    try:
        wait_for(lambda: "run `webhook-server migrate`" in forwarder.log(), 20, lambda: forwarder.log()[-3000:])
        assert forwarder.process.poll() is None
        migrate(url)
        wait_for(lambda: query(url, "SELECT count(*) FROM webhook_destinations")[0][0] == 1, 30, "registered")
        store_events(url, 1)
        wait_for(lambda: len(app.at("/ok")) == 1, 30, lambda: "delivered:\n" + forwarder.log()[-3000:])
        # The backoff doubles up to its cap, never faster: a log line per try, not per loop.
        assert forwarder.log().count("failed, retrying in") < 20
    finally:
        forwarder.kill()


def test_a_rate_spreads_a_destinations_attempts(forward_db: str, app: DestinationApp, start_forwarder: Start) -> None:
    """rate = 5: a burst of 5, then 5 a second, however many are due; another destination unhindered."""
    start_forwarder(destination("limited", app.url("/limited"), rate=5) + destination("free", app.url("/free")))
    store_events(forward_db, 15)
    wait_for(lambda: len(app.at("/limited")) == 15, 20, "15 at the limited destination")
    times = sorted(r.at for r in app.at("/limited"))
    assert 1.6 <= times[-1] - times[0] <= 6.0, times[-1] - times[0]
    assert sum(1 for t in times if t - times[0] < 0.5) <= 8  # the burst of 5 and 2.5 more
    free = sorted(r.at for r in app.at("/free"))
    assert len(free) == 15 and free[-1] - free[0] < 1.0
