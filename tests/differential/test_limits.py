"""``--limit-request-line`` above 8,190 (issue 29, item 3): gunicorn caps it at 8,190 for its C
parser, so a longer request line is refused; the main loop must read the limit the same way.
The two servers here run with the limit raised (GUNICORN_CMD_ARGS, as an operator would)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.differential.conftest import server_pair, worker_trouble
from tests.differential.known import RAISED_LINE_LIMIT, long_line_cases
from tests.differential.wire import Case, Differential


@pytest.fixture(scope="module")
def raised_limit(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Differential]:
    directory = tmp_path_factory.mktemp("limits")
    raised = f"--limit-request-line {RAISED_LINE_LIMIT}"
    with server_pair(database_url, directory, "_limits", GUNICORN_CMD_ARGS=raised) as pair:
        booted = [side.server.log_offset() for side in pair]
        yield pair
        for side, since in zip(pair, booted, strict=True):
            assert worker_trouble(side.server, since) == []


@pytest.mark.parametrize("case", list(long_line_cases()), ids=lambda case: case.name)
def test_a_long_request_line_is_read_as_gunicorn_reads_it(raised_limit: Differential, case: Case) -> None:
    raised_limit.assert_same(case)
