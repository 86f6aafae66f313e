"""A pipelined stream (a delivery, a health check, another delivery, the first again) cut in two, a pause between the
halves: wherever the cut, the main loop answers as gunicorn does. Every byte in the long run;
a few bytes around each request's start, head end and end, and every 61st byte, in the suite.
"""

from __future__ import annotations

import pytest

from tests.differential.mutations import pipelined, split_case, split_points
from tests.differential.requests import LONG_RUN
from tests.differential.wire import Differential


@pytest.mark.parametrize("at", split_points(pipelined(signed=False), every=LONG_RUN))
def test_a_stream_cut_anywhere_gets_gunicorns_answers(differential: Differential, at: int) -> None:
    differential.assert_same(split_case(at))
