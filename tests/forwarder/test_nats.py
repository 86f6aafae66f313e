"""NATS JetStream destinations against a real ``nats-server -js`` (Debian's package)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.forwarder.conftest import ForwarderProcess, cli, deliveries, destination, query, store_events
from tests.harness.polling import wait_for

nats = pytest.importorskip("nats", reason="nats-py is not installed: pip install -e '.[test]'")

pytestmark = pytest.mark.skipif(
    shutil.which("nats-server") is None, reason="nats-server is not installed (apt-get install nats-server)"
)

Start = Callable[..., ForwarderProcess]
STREAM = "WEBHOOKS"


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A JetStream server of the test's own, with a stream on webhooks.> (2-minute duplicate window)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "nats.log").open("wb")
    server = subprocess.Popen(
        ["nats-server", "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp_path / "jetstream")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"nats://127.0.0.1:{port}"

    def accepting() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            assert server.poll() is None, (tmp_path / "nats.log").read_text()
            return False
        return True

    try:
        wait_for(accepting, 20, "nats-server accepting")
        asyncio.run(_add_stream(url))
        yield url
    finally:
        server.terminate()
        server.wait(10)
        log.close()


async def _add_stream(url: str) -> None:
    from nats.js.api import StreamConfig

    client = await nats.connect(url, connect_timeout=5)
    await client.jetstream().add_stream(StreamConfig(name=STREAM, subjects=["webhooks.>"], duplicate_window=120))
    await client.close()


def stored_ids(url: str) -> list[str]:
    """Every message's Nats-Msg-Id in the stream, in stream order."""

    async def read() -> list[str]:
        client = await nats.connect(url, connect_timeout=5)
        stream = client.jetstream()
        info = await stream.stream_info(STREAM)
        ids = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await stream.get_msg(STREAM, sequence)
            ids.append((message.headers or {}).get("Nats-Msg-Id", "?"))
        await client.close()
        return ids

    return asyncio.run(read())


def test_every_event_is_published_once_and_a_replay_is_dropped_as_a_duplicate(
    forward_db: str, nats_url: str, start_forwarder: Start
) -> None:
    start_forwarder(destination("stream", nats_url, subject="webhooks.stripe", timeout=2))
    sent = store_events(forward_db, 30)
    wait_for(lambda: deliveries(forward_db, "stream", "delivered") == 30, 30, "30 events published")
    assert sorted(stored_ids(nats_url)) == sorted(f"stripe_{event_id}" for event_id in sent)

    for event_id in list(sent)[:5]:
        replayed = cli(forward_db, "destinations", "replay", "stream", "--event", event_id)
        assert replayed.returncode == 0, replayed.stderr
    wait_for(
        lambda: (
            query(forward_db, "SELECT count(*) FROM webhook_delivery_attempts WHERE outcome = 'delivered'")[0][0] == 35
        ),
        30,
        "the 5 replays acknowledged",
    )
    assert len(stored_ids(nats_url)) == 30, "JetStream dropped the replays by their Nats-Msg-Id"


def test_a_kill_9_mid_publish_loses_nothing_and_stores_nothing_twice(
    forward_db: str, nats_url: str, start_forwarder: Start
) -> None:
    settings = {"subject": "webhooks.stripe", "timeout": 1, "concurrency": 4}
    first = start_forwarder(destination("stream", nats_url, **settings))
    sent = store_events(forward_db, 400)
    wait_for(lambda: deliveries(forward_db, "stream", "delivered") >= 50, 30, "some published")
    first.kill()
    start_forwarder(destination("stream", nats_url, **settings))
    wait_for(lambda: deliveries(forward_db, "stream", "delivered") == 400, 60, "every event published")
    ids = stored_ids(nats_url)
    assert len(ids) == 400 and set(ids) == {f"stripe_{event_id}" for event_id in sent}


def test_a_subject_no_stream_takes_fails_with_what_to_do(
    forward_db: str, nats_url: str, start_forwarder: Start
) -> None:
    start_forwarder(
        destination("nowhere", nats_url, subject="elsewhere.x", timeout=1, retry_base=30, pause_after="off")
    )
    store_events(forward_db, 1)
    wait_for(lambda: deliveries(forward_db, "nowhere", "failed") == 1, 20, "the failed publish")
    (error,) = query(forward_db, "SELECT last_error FROM webhook_deliveries")[0]
    assert "no JetStream stream takes subject elsewhere.x" in error
