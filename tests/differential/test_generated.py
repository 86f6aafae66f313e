"""Generated requests (hypothesis): the main loop's answers are gunicorn's and Flask's, byte for byte.

Derandomized and without an example database: every run of the suite sends the same cases,
and nothing is written into the checkout. ``WEBHOOK_DIFFERENTIAL_EXAMPLES`` (bench/differential.py)
draws more.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from tests.differential.mutations import Mutation, mutated_delivery, mutated_health, mutations
from tests.differential.requests import LONG_RUN_EXAMPLES
from tests.differential.wire import Differential


def examples(bounded: int) -> settings:
    return settings(
        max_examples=LONG_RUN_EXAMPLES or bounded,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


@examples(300)
@given(mutation=mutations)
def test_a_changed_delivery_gets_gunicorns_answer(differential: Differential, mutation: Mutation) -> None:
    differential.assert_same(mutated_delivery(mutation))


@examples(100)
@given(mutation=mutations)
def test_a_changed_health_check_gets_gunicorns_answer(differential: Differential, mutation: Mutation) -> None:
    differential.assert_same(mutated_health(mutation))
