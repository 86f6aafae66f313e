"""The operator queries the dashboard added: keyset pages, the bulk replay's count, replays by row, the chart."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.test_operator_queries import now, row, store
from tests.worker.conftest import query
from webhook_server.operator import queries


def test_keyset_pages_walk_every_match_once_newest_first(clean_db: str) -> None:
    base = now() - timedelta(hours=1)
    for number in range(25):
        # Pairs share a received_at: the order is the row id's, the order of arrival.
        store(clean_db, f"evt_{number:02d}", received_at=base + timedelta(minutes=number // 2))
    seen: list[str] = []
    before = None
    with queries.connect(clean_db) as conn:
        while True:
            page = queries.list_events(conn, queries.EventFilter(), limit=4, before=before)
            if not page:
                break
            seen += [event.event_id for event in page]
            before = page[-1].id
        assert seen == [f"evt_{number:02d}" for number in reversed(range(25))]

        window = queries.EventFilter(since=base + timedelta(minutes=2), until=base + timedelta(minutes=4))
        assert [e.event_id for e in queries.list_events(conn, window, limit=10)] == [
            "evt_07",
            "evt_06",
            "evt_05",
            "evt_04",
        ]
        by_id = queries.EventFilter(event_id="evt_13")
        assert [e.event_id for e in queries.list_events(conn, by_id, limit=10)] == ["evt_13"]


def test_bulk_replay_counts_then_replays_only_the_dead_and_failed_matches(clean_db: str) -> None:
    for event_id, status, scheme in [
        ("evt_dead", "dead", "stripe"),
        ("evt_failed", "failed", "stripe"),
        ("evt_done", "done", "stripe"),
        ("evt_skipped", "skipped", "stripe"),
        ("gh_dead", "dead", "github"),
    ]:
        store(clean_db, event_id, scheme=scheme, status=status, attempts=3)
    stripe = queries.EventFilter(scheme="stripe")
    with queries.connect(clean_db) as conn:
        assert queries.count_replayable(conn, stripe, queries.BULK_REPLAY_STATUSES) == 2
        assert queries.count_replayable(conn, queries.EventFilter(status="dead"), queries.BULK_REPLAY_STATUSES) == 2
        result = queries.replay(conn, by="a test", where=stripe, statuses=queries.BULK_REPLAY_STATUSES)
    assert sorted(event_id for _, event_id in result.replayed) == ["evt_dead", "evt_failed"]
    statuses = dict(query(clean_db, "SELECT event_id, status FROM webhook_events"))
    assert statuses == {
        "evt_dead": "pending",
        "evt_failed": "pending",
        "evt_done": "done",
        "evt_skipped": "skipped",
        "gh_dead": "dead",
    }


def test_a_replay_by_row_records_a_lease_it_finds_run_out_as_lost(clean_db: str) -> None:
    expired = now() - timedelta(seconds=30)
    store(clean_db, "evt_orphaned", attempts=2, locked_by="host:42", locked_until=expired, next_attempt_at=expired)
    store(clean_db, "evt_held", attempts=1, locked_by="host:43", locked_until=now() + timedelta(minutes=1))
    orphaned, held = row(clean_db, "evt_orphaned")["id"], row(clean_db, "evt_held")["id"]
    with queries.connect(clean_db) as conn:
        assert (
            len(queries.replay(conn, by="a test", row_ids=[orphaned, held], where=queries.EventFilter()).replayed) == 1
        )
        lost, replayed = queries.history(conn, orphaned)
        assert queries.history(conn, held) == []
    assert (lost.attempt, lost.worker, lost.outcome, lost.finished_at) == (2, "host:42", "lost", expired)
    assert (replayed.attempt, replayed.worker, replayed.outcome, replayed.error) == (2, "a test", "replayed", None)
    assert replayed.started_at > expired
    assert lost.error.startswith("attempt 2 got no outcome: worker host:42 stopped")
    assert row(clean_db, "evt_orphaned")["status"] == "pending"
    assert row(clean_db, "evt_held")["locked_by"] == "host:43"  # a live lease is left alone


def test_events_per_hour_counts_the_last_day_and_its_failures(clean_db: str) -> None:
    store(clean_db, "evt_old", received_at=now() - timedelta(days=2))
    store(clean_db, "evt_now", status="done")
    store(clean_db, "evt_now_dead", status="dead")
    store(clean_db, "evt_earlier", status="failed", received_at=now() - timedelta(hours=5))
    with queries.connect(clean_db) as conn:
        hours = queries.events_per_hour(conn)
    assert [(events, failures) for _, events, failures in hours] == [(1, 1), (2, 1)]
    assert hours[1][0] - hours[0][0] == timedelta(hours=5)


def test_the_bulk_replay_count_honours_the_endpoint_filter(clean_db: str) -> None:
    """The confirmation said "25 events would go back" and the replay then replayed 4."""
    store(clean_db, "evt_eu_dead", status="dead", endpoint="stripe-eu")
    store(clean_db, "evt_eu_failed", status="failed", endpoint="stripe-eu")
    store(clean_db, "evt_dead", status="dead")  # the scheme's own endpoint
    eu = queries.EventFilter(endpoint="stripe-eu")
    own = queries.EventFilter(endpoint="stripe")
    with queries.connect(clean_db) as conn:
        assert queries.count_replayable(conn, eu, queries.BULK_REPLAY_STATUSES) == 2
        assert queries.count_replayable(conn, own, queries.BULK_REPLAY_STATUSES) == 1
        assert len(queries.replay(conn, by="a test", where=eu, statuses=queries.BULK_REPLAY_STATUSES).replayed) == 2
