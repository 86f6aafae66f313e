"""The shipped nginx and HAProxy configs, as real processes in front of real gunicorn instances.

The promise under test: an instance stopped with SIGTERM in the middle of steady traffic costs
no failed request at the proxy and no acknowledged event. HAProxy keeps it by its health check
(the instance is out of rotation before it stops accepting), nginx by retrying the refused or
reset connection on another instance. The kill -9 control shows that the harness does see
failures when there are some; without it a green run could mean it never looks.
"""

from __future__ import annotations

import array
import json
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import STRIPE_SECRET, stored_rows
from tests.harness.gunicorn import GunicornServer
from tests.harness.load import SignedLoad, assert_each_acknowledged_event_stored_once
from tests.harness.proxies import (
    RunningProxy,
    check_haproxy,
    check_nginx,
    render_haproxy,
    render_nginx,
    running_haproxy,
    running_nginx,
)
from tests.signers import signed_stripe_request, stripe_event
from webhook_server.dev.localdb import free_port
from webhook_server.settings import Settings

ANNOUNCE = 3.0  # WEBHOOK_DRAIN_ANNOUNCE's default, which the HAProxy checks are tuned to
CAP = 10.0  # WEBHOOK_SHUTDOWN_CAP's default
RATE = 80.0  # webhooks per second through the proxy, each on a new connection
BEFORE_STOP = 1.0  # seconds of traffic before the stop or the kill
AFTER_EXIT = 2.0  # seconds of traffic once the instance is gone
LOAD_LIMIT = 30.0  # no load outlives this, whatever happens to the test
MAX_BODY = Settings.max_body_bytes


@pytest.fixture
def instances(clean_db: str, tmp_path: Path) -> Iterator[Callable[[int], list[GunicornServer]]]:
    """Start gunicorn instances side by side (they boot in parallel); all are killed afterwards."""
    started: list[GunicornServer] = []

    def start(count: int) -> list[GunicornServer]:
        new = []
        for _ in range(count):
            server = GunicornServer(clean_db, tmp_path / f"gunicorn-{len(started)}.log")
            started.append(server)
            new.append(server)
        for server in new:
            server.wait_until_healthy()
        return new

    yield start
    for server in started:
        server.kill()


def load_through(proxy: RunningProxy) -> SignedLoad:
    return SignedLoad(proxy.url("/webhooks/stripe"), RATE, max_seconds=LOAD_LIMIT)


def deliver(proxy: RunningProxy, path: str, event: dict, **extra_headers: str) -> requests.Response:
    body, headers = signed_stripe_request(event, STRIPE_SECRET)
    headers |= extra_headers
    return requests.post(proxy.url(path), data=body, headers=headers, timeout=20, allow_redirects=False)


def event_of_size(size: int) -> dict:
    """An event whose signed body is exactly `size` bytes (padded in its metadata): limits are edges."""
    event = stripe_event()
    metadata = event["data"]["object"]["metadata"]
    metadata["padding"] = ""
    metadata["padding"] = "x" * (size - len(json.dumps(event, indent=2)))
    assert len(signed_stripe_request(event, STRIPE_SECRET)[0]) == size
    return event


def stop_one_instance_under_traffic(
    load: SignedLoad, instance: GunicornServer, watch: Callable[[float], None] | None = None
) -> list[int]:
    """SIGTERM the instance mid-stream and keep sending until it exited and AFTER_EXIT more.

    `watch(sent)` runs every 50 ms while the instance is still running (`sent`: when SIGTERM
    went out). Returns how many events were acknowledged before the signal, by the exit and at
    the end, so a test can tell that traffic flowed all along.
    """
    time.sleep(BEFORE_STOP)
    acknowledged = [len(load.ledger.acknowledged)]
    sent = instance.send_signal(signal.SIGTERM)
    while instance.process.poll() is None:
        assert time.monotonic() - sent < CAP + 5, f"still running {CAP + 5} s after SIGTERM:\n{instance.log()}"
        if watch is not None:
            watch(sent)
        time.sleep(0.05)
    assert instance.process.returncode == 0, instance.log()
    acknowledged.append(len(load.ledger.acknowledged))
    time.sleep(AFTER_EXIT)
    acknowledged.append(len(load.ledger.acknowledged))
    return acknowledged


def assert_lossless(load: SignedLoad, acknowledged_by_step: list[int], database_url: str, proxy_log: str) -> None:
    assert load.ledger.failures == [], f"{len(load.ledger.failures)} failed at the proxy:\n" + "\n".join(
        load.ledger.failures[:20]
    )
    # Acknowledged before the signal, between it and the exit, and after the exit: none empty.
    starts = [0, *acknowledged_by_step[:-1]]
    windows = [end - start for start, end in zip(starts, acknowledged_by_step, strict=True)]
    assert all(window > 0 for window in windows), (windows, proxy_log)
    stored = assert_each_acknowledged_event_stored_once(load.ledger, database_url)
    assert set(stored) == set(load.ledger.acknowledged)  # nothing failed, so nothing else was stored either


def test_rendered_configs_pass_nginx_t_and_haproxy_c(tmp_path: Path) -> None:
    nginx = check_nginx(render_nginx(tmp_path, free_port(), [free_port(), free_port(), free_port()]))
    assert nginx.returncode == 0, nginx.stderr
    assert "test is successful" in nginx.stderr

    config, _ = render_haproxy(tmp_path, free_port(), [free_port(), free_port(), free_port()])
    haproxy = check_haproxy(config)
    assert haproxy.returncode == 0, haproxy.stdout + haproxy.stderr
    assert "Configuration file is valid" in haproxy.stdout


def test_both_proxies_pass_webhooks_unredirected_up_to_the_apps_body_limit_and_nothing_else(
    instances: Callable[[int], list[GunicornServer]], clean_db: str, tmp_path: Path
) -> None:
    (instance,) = instances(1)
    (tmp_path / "nginx").mkdir()
    (tmp_path / "haproxy").mkdir()
    with (
        running_nginx(tmp_path / "nginx", [instance.port]) as nginx,
        running_haproxy(tmp_path / "haproxy", [instance.port]) as haproxy,
    ):
        for proxy in (nginx, haproxy):
            for path in ("/webhooks/stripe", "/webhooks/stripe/"):  # Stripe counts a 3xx as a failure
                response = deliver(proxy, path, stripe_event())
                assert (response.status_code, response.json()["duplicate"]) == (200, False), (path, proxy.log())
            assert deliver(proxy, "/webhooks/stripe", event_of_size(MAX_BODY)).status_code == 200
            # A client's scheme headers, which would contradict the proxy's X-Forwarded-Proto.
            scheme = {"X-Forwarded-Ssl": "off", "X-Forwarded-Protocol": "ssl"}
            assert deliver(proxy, "/webhooks/stripe", stripe_event(), **scheme).status_code == 200, proxy.log()
            assert deliver(proxy, "/webhooks/stripe", event_of_size(MAX_BODY + 1)).status_code == 413
            for path in ("/health", "/webhooks", "/"):  # the balancer's checks are not public
                assert requests.get(proxy.url(path), timeout=5, allow_redirects=False).status_code == 404, path
    assert len(stored_rows(clean_db)) == 8


def test_behind_haproxy_a_sigterm_costs_no_delivery_and_the_instance_is_down_before_it_exits(
    instances: Callable[[int], list[GunicornServer]], clean_db: str, tmp_path: Path
) -> None:
    stopping, staying = instances(2)
    down_after: list[float] = []
    with running_haproxy(tmp_path, [stopping.port, staying.port]) as haproxy:

        def watch(sent: float) -> None:
            # poll() after the query: the instance was still running when HAProxy said DOWN.
            if not down_after and haproxy.servers()["app1"]["status"] == "DOWN" and stopping.process.poll() is None:
                down_after.append(time.monotonic() - sent)

        haproxy.wait_until_checked_up(["app1", "app2"])
        with load_through(haproxy) as load:
            acknowledged = stop_one_instance_under_traffic(load, stopping, watch)
    assert down_after, f"HAProxy never marked the stopping instance DOWN while it ran:\n{haproxy.log()}"
    assert down_after[0] < ANNOUNCE, f"out of rotation only {down_after[0]:.2f} s after SIGTERM"
    assert_lossless(load, acknowledged, clean_db, haproxy.log())


def test_behind_nginx_a_sigterm_costs_no_delivery_as_nginx_retries_the_reset_posts(
    instances: Callable[[int], list[GunicornServer]], clean_db: str, tmp_path: Path
) -> None:
    stopping, staying = instances(2)
    # A request that never finishes its body holds one of the stopping instance's workers through
    # the stop, as a slow request would (for at most graceful_timeout). Meanwhile its listener stays
    # open but nothing accepts: the POSTs nginx sends there wait in the kernel's queue and are reset
    # when that worker is killed. Only `non_idempotent` lets nginx retry those on the other instance.
    held, _ = stopping.open_partial_request(stripe_event())
    with held, running_nginx(tmp_path, [stopping.port, staying.port]) as nginx, load_through(nginx) as load:
        acknowledged = stop_one_instance_under_traffic(load, stopping)
    assert_lossless(load, acknowledged, clean_db, nginx.log())
    # nginx did have a POST reset by the stopping instance, so the green result is its retry at work.
    met = nginx.log_lines(f'upstream: "http://127.0.0.1:{stopping.port}/webhooks/stripe"')
    assert any("(104: Connection reset by peer) while reading response header" in line for line in met), nginx.log()


def test_control_kill_9_behind_nginx_fails_deliveries(
    instances: Callable[[int], list[GunicornServer]], clean_db: str, tmp_path: Path
) -> None:
    (victim,) = instances(1)
    with running_nginx(tmp_path, [victim.port]) as nginx, load_through(nginx) as load:
        time.sleep(BEFORE_STOP)
        victim.kill()  # SIGKILL to the master and its workers: nothing drains, nothing retries
        time.sleep(AFTER_EXIT)
    assert any(": 502 " in failure for failure in load.ledger.failures), (load.ledger.failures[:5], nginx.log())
    assert load.ledger.acknowledged  # the load did run before the kill
    assert_each_acknowledged_event_stored_once(load.ledger, clean_db)


def test_haproxy_admin_socket_changes_server_states_but_hands_out_no_listening_socket(tmp_path: Path) -> None:
    """`expose-fd listeners` would let any member of group haproxy take the public socket over
    (`_getsocks` passes its file descriptors); the rolling deploy needs `level admin` only."""
    with running_haproxy(tmp_path, [free_port()]) as haproxy:
        assert received_file_descriptors(haproxy.stats_socket, "_getsocks") == 0
        assert haproxy.command("set server webhook_server/app1 state maint").strip() == ""
        assert haproxy.servers()["app1"]["status"] == "MAINT"


def received_file_descriptors(socket_path: Path, command: str) -> int:
    """How many file descriptors HAProxy passes (SCM_RIGHTS) in its answer to ``command``."""
    received = 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(5)
        client.connect(str(socket_path))
        client.sendall(command.encode() + b"\n")
        while True:
            data, ancillary, _, _ = client.recvmsg(65536, socket.CMSG_SPACE(64 * 4))
            for level, kind, payload in ancillary:
                if (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS):
                    descriptors = array.array("i", payload[: len(payload) - len(payload) % 4])
                    for descriptor in descriptors:
                        os.close(descriptor)
                    received += len(descriptors)
            if not data:
                return received
