"""After the attack (this module runs last, by name): memory, metrics, logs, and the canary.

Each test stands on its own when run alone; run with the rest of the package, they also
judge everything the other modules sent.
"""

from __future__ import annotations

import re
import threading

import requests

from tests.hostile.conftest import Target, assert_refused
from tests.hostile.corpus import cases
from tests.hostile.schemes import MARKER, SCHEMES
from tests.hostile.workers import rss_kib, worker_pids

# Measured on the 2-core test machine: a worker's RSS rises in steps of about 3.3 MiB, one per
# malloc arena the first time a thread using it serves the whole corpus at once (glibc keeps an
# arena's high-water mark), then stays flat. By default glibc gives each thread its own arena,
# so up to threads + 1 steps come at random moments; the suite's server runs with
# MALLOC_ARENA_MAX=2 (conftest), which brings the steps into the warm-up: then +0.1 to +0.4 MiB
# over 1,800 more bad requests, or one late step at most. A leak of 7 KiB a request would break
# the second bound.
STEP_KIB = 4 * 1024
WARM_UP_ROUNDS = 4
HALF_ROUNDS = 8
TOTAL_BOUND_KIB = 2 * STEP_KIB + 2 * 1024
SECOND_HALF_BOUND_KIB = STEP_KIB + 2 * 1024
SENDERS = 8


def send_corpus(target: Target, rounds: int) -> None:
    """The fast part of the corpus, ``rounds`` times over, from a few threads at once."""
    batch = [case for case in cases() if not case.name.startswith("garbage")] * rounds
    errors: list[BaseException] = []

    def sender(part: list) -> None:
        try:
            for case in part:
                assert_refused(target.send_bad(case.build(), case.scheme), may_close=case.may_close)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(batch[i::SENDERS],)) for i in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors[0]


def test_worker_memory_stays_bounded_and_no_worker_dies(target: Target) -> None:
    pids = worker_pids(target.server.process.pid)
    assert pids == target.workers, "a worker was replaced: one crashed or was killed during the attack"
    send_corpus(target, WARM_UP_ROUNDS)
    start = {pid: rss_kib(pid) for pid in pids}
    send_corpus(target, HALF_ROUNDS)
    middle = {pid: rss_kib(pid) for pid in pids}
    send_corpus(target, HALF_ROUNDS)
    end = {pid: rss_kib(pid) for pid in pids}
    assert worker_pids(target.server.process.pid) == pids
    print(f"worker RSS KiB {start} -> {middle} -> {end}; bad requests so far {target.bad_requests}")
    assert max(end[pid] - start[pid] for pid in pids) < TOTAL_BOUND_KIB, (start, end)
    assert max(end[pid] - middle[pid] for pid in pids) < SECOND_HALF_BOUND_KIB, (middle, end)


def test_rejections_are_counted_by_scheme_and_reason(target: Target) -> None:
    send_corpus(target, 1)
    text = requests.get(target.server.url("/metrics"), timeout=10).text
    counted = {
        (endpoint, reason): float(value)
        for endpoint, reason, value in re.findall(
            r'^webhook_rejections_total\{endpoint="([^"]*)",provider="\1",reason="([^"]*)"\} (\S+)$', text, re.MULTILINE
        )
    }
    for key, refused in target.rejections.items():
        assert counted.get(key, 0) >= refused, (key, refused, counted)
    for scheme in SCHEMES:
        reasons = {reason for endpoint, reason in counted if endpoint == scheme.name}
        assert {"signature_invalid", "request_entity_too_large", "body_not_json"} <= reasons, reasons
    framing_target = {reason for endpoint, reason in counted if endpoint == SCHEMES[0].name}
    assert {"body_malformed", "body_incomplete"} <= framing_target, framing_target


def test_the_log_holds_no_body_no_secret_and_no_error(target: Target) -> None:
    send_corpus(target, 1)
    log = target.log()
    assert MARKER not in log
    for scheme in SCHEMES:
        assert scheme.secret not in log
    errors = [line for line in log.splitlines() if '"level": "error"' in line or "Traceback" in line]
    assert errors == [], errors[:3]
    assert '"reason": "signature_invalid"' in log  # refusals are logged, only without their bodies


def test_valid_deliveries_were_answered_throughout(target: Target) -> None:
    canary = list(target.canary)
    assert canary, "the canary never ran"
    assert [status for status, _ in canary] == [200] * len(canary)
    acknowledged = set(target.acknowledged)  # before the read: the canary is still delivering
    assert acknowledged <= target.stored_ids()
    print(f"canary: {len(canary)} deliveries, slowest {max(seconds for _, seconds in canary):.2f} s")
