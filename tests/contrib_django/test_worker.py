"""The worker in a Django project: ORM handlers, Django's connection hygiene, atomic handlers exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from tests.contrib_django.shop.config import settings_module
from tests.harness.polling import wait_for
from tests.worker.conftest import WorkerProcess, count_status, insert_events, query, run_under_kills
from webhook_server.errors import EXIT_CONFIG


def test_orm_handlers_get_a_fresh_connection_per_handler_as_in_a_request(
    shop_db: str, start_django_worker: Callable[..., WorkerProcess]
) -> None:
    ids = insert_events(shop_db, 20, scheme="orm")
    start_django_worker(WEBHOOK_WORKER_CONCURRENCY="1")  # CONN_MAX_AGE = 0, Django's default

    wait_for(lambda: count_status(shop_db, "done") == 20, 30, "every event done")
    effects = query(shop_db, "SELECT event_id, backend_pid FROM shop_effects")
    assert Counter(event_id for event_id, _ in effects) == Counter(ids)
    # One thread ran them all, and closed its connection after each, as Django does after a request.
    assert len({pid for _, pid in effects}) == 20


def test_a_transaction_a_handler_leaves_open_is_rolled_back_not_inherited_by_the_next(
    shop_db: str, start_django_worker: Callable[..., WorkerProcess]
) -> None:
    insert_events(shop_db, 1, scheme="orm", prefix="careless", leave_open=True)
    following = insert_events(shop_db, 5, scheme="orm", prefix="following")
    start_django_worker(WEBHOOK_WORKER_CONCURRENCY="1", SHOP_CONN_MAX_AGE="none")  # persistent connections

    wait_for(lambda: count_status(shop_db, "done") == 6, 30, "every event done")
    effects = query(shop_db, "SELECT event_id, backend_pid FROM shop_effects")
    assert sorted(event_id for event_id, _ in effects) == following  # the careless one's write was rolled back
    # The next handlers got a new connection, then kept it (CONN_MAX_AGE None): one pid for all five.
    assert len({pid for _, pid in effects}) == 1


def test_a_timed_out_handlers_connection_stays_with_its_abandoned_thread(
    shop_db: str, start_django_worker: Callable[..., WorkerProcess]
) -> None:
    insert_events(shop_db, 1, scheme="orm", sleep=2, sleep_attempts=1)
    start_django_worker(
        WEBHOOK_WORKER_CONCURRENCY="1",
        WEBHOOK_HANDLER_TIMEOUT="1",
        WEBHOOK_WORKER_POLL="0.05",
        SHOP_CONN_MAX_AGE="none",
    )

    wait_for(lambda: count_status(shop_db, "done") == 1, 20, "the event done on its retry")
    # A plain handler's write is its own (at least once): both attempts wrote, each on its thread's connection.
    pids = dict(query(shop_db, "SELECT attempt, backend_pid FROM shop_effects"))
    assert set(pids) == {1, 2} and pids[1] != pids[2]


def test_transactional_orm_handlers_under_kill_9_leave_exactly_one_effect_per_event(
    shop_db: str, start_django_worker: Callable[..., WorkerProcess]
) -> None:
    ids = insert_events(shop_db, 300, scheme="shop", sleep=0.01)
    kills = run_under_kills(
        shop_db, start_django_worker, len(ids), WEBHOOK_WORKER_CONCURRENCY="8", SHOP_CONN_MAX_AGE="none"
    )

    assert query(shop_db, "SELECT event_id FROM shop_effects GROUP BY 1 HAVING count(*) <> 1") == []
    assert query(shop_db, "SELECT count(DISTINCT event_id) FROM shop_effects") == [(len(ids),)]
    (lost,) = query(shop_db, "SELECT count(*) FROM webhook_event_attempts WHERE outcome = 'lost'")[0]
    assert kills >= 2 and lost > 0, (kills, lost)


def test_a_timed_out_atomic_handler_keeps_none_of_its_writes(
    shop_db: str, start_django_worker: Callable[..., WorkerProcess]
) -> None:
    (event_id,) = insert_events(shop_db, 1, scheme="shop", sleep=3, sleep_attempts=1)
    start_django_worker(WEBHOOK_HANDLER_TIMEOUT="1", WEBHOOK_WORKER_POLL="0.05")

    wait_for(lambda: count_status(shop_db, "done") == 1, 20, "the event done on its retry")
    assert query(shop_db, "SELECT event_id, attempt FROM shop_effects") == [(event_id, 2)]
    assert query(shop_db, "SELECT attempt, outcome FROM webhook_event_attempts ORDER BY id") == [
        (1, "timed_out"),
        (2, "done"),
    ]


def test_a_django_database_other_than_database_url_stops_the_worker_with_the_fix(
    shop_db: str, settings_dir: Path, start_django_worker: Callable[..., WorkerProcess]
) -> None:
    with psycopg.connect(shop_db, autocommit=True) as conn:
        if not conn.execute("SELECT FROM pg_database WHERE datname = 'shop_elsewhere'").fetchone():
            conn.execute("CREATE DATABASE shop_elsewhere")
    elsewhere = make_conninfo(shop_db, dbname="shop_elsewhere")
    (settings_dir / "elsewhere_settings.py").write_text(settings_module(elsewhere))

    worker = start_django_worker(wait=False, DJANGO_SETTINGS_MODULE="elsewhere_settings")
    assert worker.process.wait(30) == EXIT_CONFIG
    assert "WEBHOOK_DATABASE: Django's database 'default' is not the one DATABASE_URL names" in worker.log()


def test_settings_django_cannot_load_stop_the_worker_with_the_reason(
    start_django_worker: Callable[..., WorkerProcess],
) -> None:
    worker = start_django_worker(wait=False, DJANGO_SETTINGS_MODULE="shop_settings_misspelt")
    assert worker.process.wait(30) == EXIT_CONFIG
    assert "DJANGO_SETTINGS_MODULE: django.setup() failed: No module named 'shop_settings_misspelt'" in worker.log()
