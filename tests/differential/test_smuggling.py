"""Smuggling gadgets (smuggling.py): the main loop reads each as gunicorn does, or leaves it to
gunicorn; either way the same answers, the same stored rows, and the same end of the stream."""

from __future__ import annotations

import pytest

from tests.differential.requests import LONG_RUN
from tests.differential.smuggling import smuggling_cases
from tests.differential.wire import Case, Differential


@pytest.mark.parametrize("case", smuggling_cases(everything=LONG_RUN), ids=lambda case: case.name)
def test_a_smuggling_gadget_gets_gunicorns_answer(differential: Differential, case: Case) -> None:
    differential.assert_same(case)
