"""The fixed corpus against the real server: each case a 4xx (or, where named, a closed connection)."""

from __future__ import annotations

import re

import pytest

from tests.harness.polling import wait_for
from tests.hostile.conftest import MAX_BODY_BYTES, Target, assert_refused
from tests.hostile.corpus import Case, cases
from tests.hostile.schemes import SCHEMES, Scheme, encode, new_id
from tests.hostile.wire import exchange, request_bytes

CASES = cases()  # how to build each request: nothing is signed before a case runs


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_refused(target: Target, case: Case) -> None:
    answer = target.send_bad(case.build(), case.scheme)
    assert_refused(answer, may_close=case.may_close)
    if case.status is not None:
        assert answer.status == case.status, answer
    if case.reason is not None:
        assert answer.error == case.reason, answer


def test_a_case_is_signed_when_it_runs_not_when_collected() -> None:
    """Signed at collection, every timestamped case was refused as expired, not for what it tests,
    when this module ran more than 300 s after the session began."""

    def signed_at(data: bytes) -> int:
        return int(re.search(rb"Stripe-Signature: t=(\d+),", data)[1])

    case = next(case for case in CASES if case.name == "stripe-wrong-secret")
    first = signed_at(case.build())
    wait_for(lambda: signed_at(case.build()) > first, 5, "a case built a second later signed a second later")


def padded_to(scheme: Scheme, event_id: str, size: int) -> bytes:
    document = scheme.document(event_id)
    document["padding"] = ""
    document["padding"] = "p" * (size - len(encode(document)))
    body = encode(document)
    assert len(body) == size
    return body


@pytest.mark.parametrize("scheme", SCHEMES, ids=[scheme.name for scheme in SCHEMES])
def test_a_chunked_body_at_the_limit_is_served_and_one_byte_more_is_413(target: Target, scheme: Scheme) -> None:
    """werkzeug cuts a chunked body at its limit without an error: at the limit and over it
    used to look alike, and a valid event of exactly the limit was refused."""
    event_id = new_id("evt_ok")
    body = padded_to(scheme, event_id, MAX_BODY_BYTES)
    target.valid_ids.add(event_id)
    path = f"/webhooks/{scheme.name}"
    answer = exchange(target.port, request_bytes(path, scheme.sign(body, event_id), body, framing="chunked"))
    assert answer.status == 200, answer
    target.acknowledged.add(event_id)

    bad_id = new_id("evt_bad")
    over = padded_to(scheme, bad_id, MAX_BODY_BYTES + 1)
    answer = target.send_bad(request_bytes(path, scheme.sign(over, bad_id), over, framing="chunked"), scheme.name)
    assert answer.status == 413, answer
