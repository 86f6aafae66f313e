"""``--limit-request-line`` above 8,190 (issue 29, item 3): gunicorn caps it at 8,190 for its C
parser, so a longer request line is refused; the main loop must read the limit the same way.
The two servers here run with the limit raised (GUNICORN_CMD_ARGS, as an operator would)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.differential.conftest import server_pair, worker_trouble
from tests.differential.requests import PROBE, Request, delivery, health_with
from tests.differential.wire import Case, Differential

RAISED_LIMIT = 10000
# Request lines just under, at and over gunicorn's cap, and up to the raised limit.
LINE_LENGTHS = (4094, 4095, 8189, 8190, 8191, 9000, RAISED_LIMIT, RAISED_LIMIT + 1)


@pytest.fixture(scope="module")
def raised_limit(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Differential]:
    directory = tmp_path_factory.mktemp("limits")
    with server_pair(
        database_url, directory, "_limits", GUNICORN_CMD_ARGS=f"--limit-request-line {RAISED_LIMIT}"
    ) as pair:
        booted = [side.server.log_offset() for side in pair]
        yield pair
        for side, since in zip(pair, booted, strict=True):
            assert worker_trouble(side.server, since) == []


def padded(request: bytes, line_length: int) -> bytes:
    """``request`` with a query string that makes its request line ``line_length`` bytes long."""
    parsed = Request.of(request)
    method, target, version = parsed.line.split(b" ")
    padding = line_length - len(parsed.line) - len(b"?q=")
    line = b" ".join((method, target + b"?q=" + b"a" * padding, version))
    return bytes(Request(line, parsed.headers, parsed.body))


def long_line_cases() -> Iterator[Case]:
    for length in LINE_LENGTHS:
        yield Case("limits", f"health, request line of {length}", lambda n=length: [padded(health_with(), n) + PROBE])
        yield Case("limits", f"delivery, request line of {length}", lambda n=length: [padded(delivery(), n) + PROBE])


@pytest.mark.parametrize("case", list(long_line_cases()), ids=lambda case: case.name)
def test_a_long_request_line_is_read_as_gunicorn_reads_it(raised_limit: Differential, case: Case) -> None:
    raised_limit.assert_same(case)
