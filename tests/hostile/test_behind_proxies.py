"""The shipped nginx and HAProxy configs absorb slow clients on their own.

In front of gunicorn's stock gthread worker, which two slow clients starve when they reach it
directly (test_slow_clients' control), the same attack through either proxy holds proxy
connections only: both read a whole request (nginx ``proxy_request_buffering on``, HAProxy
``option http-buffer-request`` and ``timeout http-request 10s``) before they pick an instance.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import requests

from tests.harness.gunicorn import GunicornServer
from tests.harness.proxies import RunningProxy, running_haproxy, running_nginx
from tests.hostile.conftest import Target
from tests.hostile.schemes import SCHEMES, valid_delivery
from tests.hostile.slowloris import Slowloris

# Four times the stock server's threads (1 worker x 2), held open through the proxy.
SLOW_CONNECTIONS = 8
ATTACK_SECONDS = 3.0
DELIVERY_BOUND_SECONDS = 2.0


@pytest.mark.parametrize("running_proxy", [running_nginx, running_haproxy], ids=["nginx", "haproxy"])
def test_slow_clients_through_the_proxy_never_reach_gunicorn(
    target: Target,
    stock_gthread: GunicornServer,
    tmp_path: Path,
    running_proxy: Callable[[Path, list[int]], AbstractContextManager[RunningProxy]],
) -> None:
    with running_proxy(tmp_path, [stock_gthread.port]) as proxy, Slowloris(proxy.port, SCHEMES[0], SLOW_CONNECTIONS):
        time.sleep(0.5)
        deadline = time.monotonic() + ATTACK_SECONDS
        while time.monotonic() < deadline:
            event_id, body, headers = valid_delivery(SCHEMES[0])
            target.valid_ids.add(event_id)
            started = time.monotonic()
            response = requests.post(
                proxy.url(f"/webhooks/{SCHEMES[0].name}"), data=body, headers=dict(headers), timeout=10
            )
            assert response.status_code == 200, response.text
            assert time.monotonic() - started < DELIVERY_BOUND_SECONDS
    target.bad_requests += SLOW_CONNECTIONS
