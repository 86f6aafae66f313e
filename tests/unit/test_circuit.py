"""The circuit's states: open at the threshold of failures in a row, probes while open, closed by a success."""

from __future__ import annotations

import pytest

from webhook_server.circuit import Circuit, CircuitOpen, CircuitState
from webhook_server.errors import DatabaseUnavailable


def circuit(changes: list[CircuitState]) -> Circuit:
    return Circuit("test", failure_threshold=3, probe_interval=0.25, on_change=changes.append)


def test_it_opens_only_after_the_threshold_of_failures_in_a_row() -> None:
    changes: list[CircuitState] = []
    breaker = circuit(changes)
    breaker.record_failure(OSError("refused"))
    breaker.record_failure(OSError("refused"))
    breaker.record_success()  # the count starts again
    breaker.record_failure(OSError("refused"))
    breaker.record_failure(OSError("refused"))
    breaker.check()
    assert (breaker.state, breaker.probe_delay(), changes) == (CircuitState.CLOSED, None, [])

    breaker.record_failure(OSError("refused again"))
    assert breaker.state is CircuitState.OPEN and changes == [CircuitState.OPEN]
    with pytest.raises(DatabaseUnavailable, match=r"3 failures in a row.*refused again.*every 0\.25 s"):
        breaker.check()


def test_while_open_a_probe_is_due_every_interval_and_failures_do_not_reopen_it() -> None:
    changes: list[CircuitState] = []
    breaker = circuit(changes)
    for _ in range(3):
        breaker.record_failure(OSError("refused"))
    delay = breaker.probe_delay()
    assert delay is not None and 0.2 < delay <= 0.25
    breaker.record_failure(OSError("the probe failed"))  # the next probe is one interval later
    delay = breaker.probe_delay()
    assert delay is not None and 0.2 < delay <= 0.25
    assert changes == [CircuitState.OPEN]


def test_the_first_success_closes_it_once() -> None:
    changes: list[CircuitState] = []
    breaker = circuit(changes)
    for _ in range(3):
        breaker.record_failure(OSError("refused"))
    breaker.record_success()
    breaker.record_success()
    breaker.check()
    assert changes == [CircuitState.OPEN, CircuitState.CLOSED]
    assert issubclass(CircuitOpen, DatabaseUnavailable)  # the routes (and the spool) treat both alike
