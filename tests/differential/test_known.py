"""The review's items 1, 2, 4 and 5 (known.py) get gunicorn's answer, end of stream and stored rows;
so does what this suite found since (``found_cases``)."""

from __future__ import annotations

import pytest

from tests.differential.known import found_cases, known_cases
from tests.differential.wire import Case, Differential


@pytest.mark.parametrize("case", list(known_cases()), ids=lambda case: case.name)
def test_what_the_review_found_gets_gunicorns_answer(differential: Differential, case: Case) -> None:
    differential.assert_same(case)


@pytest.mark.parametrize("case", list(found_cases()), ids=lambda case: case.name)
def test_what_this_suite_found_gets_gunicorns_answer(differential: Differential, case: Case) -> None:
    differential.assert_same(case)
