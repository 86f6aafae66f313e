"""Generated bad requests (hypothesis) against the real server: every one a 4xx, never a 5xx.

Derandomized and without an example database, so CI runs the same cases every time and
nothing is written into the checkout. The numbers of examples are split across the schemes
so the suite's runtime does not grow with each scheme added.
"""

from __future__ import annotations

import json
import string
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.conftest import Target, assert_refused
from tests.hostile.schemes import MARKER, SCHEMES, STALE_SECONDS, Headers, Scheme, bad_document, encode
from tests.hostile.wire import request_bytes


def examples(total: int) -> settings:
    return settings(
        max_examples=max(40, total // len(SCHEMES)),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def per_scheme(test):
    return pytest.mark.parametrize("scheme", SCHEMES, ids=[scheme.name for scheme in SCHEMES])(test)


# -- a valid delivery, then one thing changed --------------------------------------------------

SIGNATURE_CHARS = string.ascii_letters + string.digits + "=,+/ ."


@st.composite
def mutations(draw: st.DrawFn, scheme: Scheme) -> tuple[bytes, Headers]:
    event_id, document = bad_document(scheme)
    body = encode(document)
    headers = scheme.sign(body, event_id)
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "edit", "drop", "duplicate", "secret", "time"]))
    if kind == "flip":
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([body[at] ^ (1 << draw(st.integers(0, 7)))]) + body[at + 1 :]
    elif kind == "truncate":
        body = body[: draw(st.integers(0, len(body) - 1))]
    elif kind == "insert":
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(min_size=1, max_size=20)) + body[at:]
    elif kind == "secret":
        secret = draw(st.text(string.ascii_letters, min_size=1, max_size=40).map(lambda s: "whsec_" + s))
        headers = scheme.sign(body, event_id, secret=secret)
    elif kind == "time" and scheme.timestamped:
        offset = draw(st.integers(STALE_SECONDS, 10**9)) * draw(st.sampled_from([-1, 1]))
        headers = scheme.sign(body, event_id, timestamp=int(time.time()) + offset)
    else:
        name = draw(st.sampled_from(scheme.signature_headers))
        value = next(v for k, v in headers if k == name)
        rest = [(k, v) for k, v in headers if k != name]
        forged = _forge(draw, value)
        if kind == "drop":
            headers = rest
        elif kind == "duplicate":
            headers = [*rest, (name, forged), (name, _forge(draw, value))]
        else:
            headers = [*rest, (name, forged)]
    return body, headers


def _forge(draw: st.DrawFn, value: str) -> str:
    """``value`` with its digest damaged: cut short, a character replaced, or extended.

    Only the second half changes, where every scheme's digest is: two forged copies of one
    header, joined by gunicorn, must not add up to the original (a prefix keeping ``t=`` and a
    copy keeping the digest once did, and verified).
    """
    how = draw(st.sampled_from(["cut", "replace", "extend"]))
    at = draw(st.integers(len(value) // 2, len(value) - 1))
    if how == "cut":
        return value[:at]
    if how == "replace":
        # A shift within the alphabet, not a filter: the draws must not depend on the random digest.
        shift = draw(st.integers(1, len(SIGNATURE_CHARS) - 1))
        char = SIGNATURE_CHARS[(SIGNATURE_CHARS.find(value[at]) + shift) % len(SIGNATURE_CHARS)]
        return value[:at] + char + value[at + 1 :]
    return value + draw(st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=30))


@per_scheme
def test_a_tampered_delivery_is_refused(target: Target, scheme: Scheme) -> None:
    @examples(600)
    @given(tampered=mutations(scheme), framing=st.sampled_from(["length", "chunked"]))
    def check(tampered: tuple[bytes, Headers], framing: str) -> None:
        body, headers = tampered
        data = request_bytes(f"/webhooks/{scheme.name}", headers, body, framing=framing)
        assert_refused(target.send_bad(data, scheme.name))

    check()


# -- anything at all, unsigned or forged ---------------------------------------------------------

HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
bodies = st.one_of(
    st.binary(max_size=2000).map(lambda b: MARKER.encode() + b),
    st.text(max_size=500).map(lambda t: (MARKER + t).encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps({"marker": MARKER, "v": v}).encode()),
)
CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""]


@per_scheme
def test_anything_unsigned_is_refused(target: Target, scheme: Scheme) -> None:
    @examples(300)
    @given(
        body=bodies,
        signature_values=st.lists(HEADER_TEXT, max_size=3),
        content_type=st.sampled_from(CONTENT_TYPES) | HEADER_TEXT,
        extra=st.lists(st.tuples(st.from_regex(r"X-[A-Za-z0-9-]{1,20}", fullmatch=True), HEADER_TEXT), max_size=5),
        framing=st.sampled_from(["length", "chunked"]),
        chunk_size=st.integers(1, 512),
    )
    def check(
        body: bytes,
        signature_values: list[str],
        content_type: str,
        extra: list[tuple[str, str]],
        framing: str,
        chunk_size: int,
    ) -> None:
        names = scheme.signature_headers
        headers = [(names[i % len(names)], value) for i, value in enumerate(signature_values)]
        headers += [("Content-Type", content_type), *extra]
        data = request_bytes(f"/webhooks/{scheme.name}", headers, body, framing=framing, chunk_size=chunk_size)
        assert_refused(target.send_bad(data, scheme.name))

    check()


# -- signed correctly, but not an event ----------------------------------------------------------


def _is_json_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False


@per_scheme
def test_a_signed_body_that_is_not_an_event_is_refused(target: Target, scheme: Scheme) -> None:
    @examples(200)
    @given(body=bodies.filter(lambda b: not _is_json_object(b)))
    def check(body: bytes) -> None:
        event_id, _ = bad_document(scheme)
        data = request_bytes(f"/webhooks/{scheme.name}", scheme.sign(body, event_id), body)
        assert_refused(target.send_bad(data, scheme.name))

    check()


# -- not HTTP at all -----------------------------------------------------------------------------

request_heads = st.one_of(
    st.binary(max_size=300),
    st.tuples(
        st.sampled_from([b"POST", b"GET", b"P0ST", b"", b"\x00"]),
        st.binary(max_size=60),
        st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b"HTTP/1.1 x", b""]),
        st.lists(st.binary(max_size=80), max_size=8),
    ).map(lambda t: t[0] + b" /webhooks/" + t[1] + b" " + t[2] + b"\r\n" + b"\r\n".join(t[3])),
)


@examples(300 * len(SCHEMES))
@given(head=request_heads, body=st.binary(max_size=200))
def test_garbage_is_refused_or_closed(target: Target, head: bytes, body: bytes) -> None:
    answer = target.send_bad(head + b"\r\n\r\n" + MARKER.encode() + body, None)
    assert_refused(answer, may_close=True)
