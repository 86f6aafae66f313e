"""What the HTTP review of the main loop found (issue 29, tests/differential/known.py), sent
through the shipped nginx and HAProxy: what reaches gunicorn is what the proxy makes of it (a
Content-Length normalized or refused, X-Forwarded-Proto set by nginx, its own keep-alive), and
the main loop must answer that as gunicorn does. Each proxy is run twice, in front of a
main-loop server and in front of a ``WEBHOOK_MAIN_LOOP=off`` one (the reference), and every case
gets the same answer, the same end of stream and the same stored rows through both; no worker
exits. The servers run with ``--limit-request-line`` raised above gunicorn's cap (item 3).

The client does not end its side of the stream here: a proxy that reads the end of the stream
while it waits for an instance's answer drops the requests pipelined behind (nginx and HAProxy
both do, depending on how quickly the answer comes), which would be a difference between two
runs of one proxy, not between the servers. Each case ends with a request that asks the proxy
to close instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

import pytest

from tests.differential.conftest import server_pair, worker_trouble
from tests.differential.known import RAISED_LINE_LIMIT, all_known_cases
from tests.differential.requests import PROBE
from tests.differential.wire import Case, Differential
from tests.harness.proxies import RunningProxy, running_haproxy, running_nginx


def through_proxy(case: Case) -> Case:
    """``case`` with the client's stream left open, ended by a request with ``Connection: close``."""

    def make() -> list[bytes]:
        *segments, last = case.make()
        return [*segments, last if last.endswith(PROBE) else last + PROBE]

    return Case(case.source, case.name, make, shutdown=False)


@pytest.mark.parametrize("running_proxy", [running_nginx, running_haproxy], ids=["nginx", "haproxy"])
def test_the_reviews_cases_through_a_proxy_get_gunicorns_answers(
    database_url: str,
    tmp_path: Path,
    running_proxy: Callable[[Path, list[int]], AbstractContextManager[RunningProxy]],
) -> None:
    raised = f"--limit-request-line {RAISED_LINE_LIMIT}"
    with ExitStack() as stack:
        pair = stack.enter_context(server_pair(database_url, tmp_path, "_proxied", GUNICORN_CMD_ARGS=raised))
        booted = [side.server.log_offset() for side in pair]
        sides = []
        for number, side in enumerate(pair):
            directory = tmp_path / f"proxy-{number}"
            directory.mkdir()
            proxy = stack.enter_context(running_proxy(directory, [side.server.port]))
            sides.append(dataclasses.replace(side, port=proxy.port))
        proxied = Differential(*sides)
        stack.callback(proxied.close)
        found = [line for case in all_known_cases() for line in proxied.check(through_proxy(case))]
        assert found == [], "\n".join(found)
        for side, since in zip(pair, booted, strict=True):
            assert worker_trouble(side.server, since) == []
