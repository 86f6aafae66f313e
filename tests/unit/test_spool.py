"""The spool's SQLite file, for real: durable rows, claims, redeliveries, its bound, other processes."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from webhook_server.inbox import IncomingEvent
from webhook_server.settings import MIN_SPOOL_BYTES
from webhook_server.spool import record
from webhook_server.spool.store import FILE_NAME, Spool, SpoolUnavailable, read_summary


def event(number: int = 1, payload: str = '{"id": "evt_1"}') -> IncomingEvent:
    return IncomingEvent("stripe", f"evt_{number}", "invoice.paid", payload)


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    spool = Spool(tmp_path, max_bytes=MIN_SPOOL_BYTES)
    yield spool
    spool.close()


def test_an_event_comes_back_as_it_went_in_and_goes_only_when_removed(spool: Spool) -> None:
    sent = event(payload='{"id": "evt_1", "text": "\\u0000 ünïcode"}')
    assert spool.put(sent) is False
    assert spool.summary().events == 1
    _, batch = spool.claim(10, lease=60)
    assert [item.event for item in batch] == [sent]
    assert spool.summary().events == 1  # claimed is not removed: a crash here loses nothing
    assert spool.remove([item.id for item in batch]) == 1
    assert spool.remove([item.id for item in batch]) == 0  # a second drainer's delete counts nothing
    assert spool.summary().events == 0


def test_a_redelivery_during_the_outage_is_spooled_once(spool: Spool) -> None:
    assert spool.put(event(1)) is False
    assert spool.put(event(1)) is True
    assert spool.summary().events == 1


def test_threads_putting_at_once_share_commits_and_each_gets_its_own_answer(spool: Spool) -> None:
    answers: dict[int, list[bool]] = {}

    def put_twice(number: int) -> None:
        answers[number] = [spool.put(event(number)), spool.put(event(number))]

    threads = [threading.Thread(target=put_twice, args=(number,)) for number in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == {number: [False, True] for number in range(200)}
    assert spool.summary().events == 200


def test_claims_keep_two_drainers_apart_until_released_or_expired(spool: Spool, tmp_path: Path) -> None:
    for number in range(5):
        spool.put(event(number))
    other = Spool(tmp_path, max_bytes=MIN_SPOOL_BYTES)  # another process's connection to the same file
    try:
        first_claim, first = spool.claim(3, lease=60)
        _, second = other.claim(10, lease=60)
        assert [item.event.event_id for item in first] == ["evt_0", "evt_1", "evt_2"]  # oldest first
        assert [item.event.event_id for item in second] == ["evt_3", "evt_4"]
        assert not spool.claimable()
        spool.release(first_claim)  # its insert failed: the rows are anyone's again
        assert spool.claimable()
        _, again = other.claim(10, lease=-1)  # a lease already over: as if its drainer was killed
        assert [item.event.event_id for item in again] == ["evt_0", "evt_1", "evt_2"]
        _, expired = spool.claim(10, lease=60)
        assert [item.event.event_id for item in expired] == ["evt_0", "evt_1", "evt_2"]
    finally:
        other.close()


def test_deferred_events_wait_and_stay_counted(spool: Spool) -> None:
    spool.put(event(1))
    _, batch = spool.claim(10, lease=-1)
    spool.defer([batch[0].id], 300)
    assert not spool.claimable()
    assert spool.claim(10, lease=60)[1] == []
    assert spool.summary().events == 1


def test_the_oldest_age_counts_from_the_first_event_spooled(spool: Spool) -> None:
    assert spool.summary().oldest_age is None
    spool.put(event(1))
    with sqlite3.connect(spool.path) as conn:  # as if it had been spooled ten minutes ago
        conn.execute("UPDATE spooled_events SET spooled_at = spooled_at - 600")
    spool.put(event(2))
    summary = spool.summary()
    assert summary.events == 2
    assert 600 <= summary.oldest_age < 660


def test_a_full_spool_refuses_with_a_503_error_and_takes_events_again_once_drained(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=MIN_SPOOL_BYTES)
    big = '{"id": "x", "padding": "' + "x" * 500_000 + '"}'
    stored = 0
    with pytest.raises(SpoolUnavailable, match="full"):
        for number in range(100):
            spool.put(event(number, big))
            stored += 1
    assert 4 <= stored < 10  # about MIN_SPOOL_BYTES of 500 kB events
    assert spool.summary().events == stored  # the refused one left nothing behind
    _, batch = spool.claim(2, lease=60)
    spool.remove([item.id for item in batch])
    assert spool.put(event(1000, big)) is False  # freed pages are used again
    spool.close()


def test_a_spool_whose_file_cannot_be_opened_refuses_with_a_503_error(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "gone", max_bytes=MIN_SPOOL_BYTES)  # its directory was removed
    with pytest.raises(SpoolUnavailable, match="No such file or directory"):
        spool.put(event(1))
    (tmp_path / "gone").mkdir()
    assert spool.put(event(2)) is False  # the refused event is not written later
    assert [item.event.event_id for item in spool.claim(10, lease=60)[1]] == ["evt_2"]
    spool.close()


def test_the_file_is_durable_wal_and_shared(spool: Spool, tmp_path: Path) -> None:
    spool.put(event(1))
    assert (tmp_path / FILE_NAME).exists()
    with sqlite3.connect(tmp_path / FILE_NAME) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with spool._connection() as conn:
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL: every commit fsynced
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0


def test_the_file_and_the_files_sqlite_adds_are_private(tmp_path: Path, usual_umask: None) -> None:
    """SQLite creates its file 0644 under this umask, and its -wal and -shm with the file's mode."""
    older = tmp_path / "older"
    older.mkdir()
    sqlite3.connect(older / FILE_NAME).close()  # as an earlier version created it: 0644
    assert stat.S_IMODE((older / FILE_NAME).stat().st_mode) == 0o644
    for directory in (tmp_path, older):
        spool = Spool(directory, max_bytes=MIN_SPOOL_BYTES)
        spool.put(event(1))
        modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in directory.glob(FILE_NAME + "*")}
        spool.close()
        assert modes == {FILE_NAME: 0o600, f"{FILE_NAME}-wal": 0o600, f"{FILE_NAME}-shm": 0o600}, directory


def _put_from_child(directory: str, numbers: range) -> None:
    spool = Spool(Path(directory), max_bytes=MIN_SPOOL_BYTES)
    for number in numbers:
        spool.put(event(number))


def test_processes_forked_after_first_use_write_one_file_at_once(spool: Spool, tmp_path: Path) -> None:
    spool.put(event(0))  # this process's connection exists before the fork, as gunicorn's master must not
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_put_from_child, args=(str(tmp_path), range(n, 1000, 4))) for n in range(4)]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    spool.put(event(1000))  # the parent's connection still works after the fork
    assert spool.summary().events == 1001


def test_operators_read_it_without_creating_a_file(spool: Spool, tmp_path: Path) -> None:
    assert read_summary(tmp_path).events == 0  # nothing yet, and nothing created
    assert not (tmp_path / FILE_NAME).exists()
    spool.put(event(1))
    assert read_summary(tmp_path).events == 1  # the server's WAL is open: read through it
    assert read_summary(Path(os.path.relpath(tmp_path))).events == 1  # as typed on a command line
    spool.close()
    files = sorted(os.listdir(tmp_path))
    assert read_summary(tmp_path).events == 1
    assert sorted(os.listdir(tmp_path)) == files  # no -wal or -shm owned by the operator's user


@dataclasses.dataclass(frozen=True)
class _Richer:
    """What IncomingEvent may become: raw bytes and headers added by other changes."""

    scheme: str
    event_id: str
    raw: bytes
    headers: tuple[tuple[str, str], ...]
    mapping: dict[str, str]


def test_an_event_with_a_field_records_cannot_keep_is_refused_with_a_503_error(spool: Spool) -> None:
    unkeepable = IncomingEvent("stripe", "evt_1", "invoice.paid", object())  # type: ignore[arg-type]
    with pytest.raises(SpoolUnavailable, match="not JSON serializable"):
        spool.put(unkeepable)
    assert spool.summary().events == 0


def test_records_keep_bytes_and_tuples_of_fields_they_do_not_know(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record, "IncomingEvent", _Richer)
    sent = _Richer("stripe", "evt_1", b"\x00\xff raw", (("X-A", "1"), ("X-B", "2")), {"k": "v"})
    fields, blobs = record.to_rows(sent)  # type: ignore[arg-type]
    assert blobs == {"raw": b"\x00\xff raw"}
    assert record.from_rows(fields, blobs.items()) == sent


def test_an_events_endpoint_and_stored_headers_survive_the_spool(spool: Spool) -> None:
    sent = IncomingEvent(
        "shopify", "e-1", "orders/create", "{}", endpoint="shops", headers={"x-shopify-shop-domain": "north.example"}
    )
    spool.put(sent)
    _, batch = spool.claim(10, lease=60)
    assert [item.event for item in batch] == [sent]


def test_an_event_spooled_by_the_release_before_the_scheme_rename_is_read(spool: Spool, tmp_path: Path) -> None:
    spool.put(event(1))  # creates the file
    with sqlite3.connect(tmp_path / FILE_NAME) as conn:  # as 0.1.0's predecessor wrote it
        old_fields = '{"provider":"github","event_id":"d-1","event_type":"push","payload":"{}"}'
        conn.execute(
            "INSERT INTO spooled_events (provider, event_id, fields, spooled_at) VALUES ('github', 'd-1', ?, 0)",
            (old_fields,),
        )
    _, batch = spool.claim(10, lease=60)
    assert IncomingEvent("github", "d-1", "push", "{}") in [item.event for item in batch]
