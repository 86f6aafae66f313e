"""Hostile header values (hypothesis) against the real server, per scheme: never a 5xx.

Each case is a correctly signed delivery with one piece of one header replaced by a drawn
value: digit strings of any length (a timestamp of 320 nines overflowed a float once), numbers
in every spelling (negative, fractional, ``nan``, ``inf``), and arbitrary text including
latin-1 bytes (a ``v1=<é>`` reached the stripe SDK's compare as a TypeError once). A header the
signature covers must then be refused with a 4xx and nothing stored. An identity header it does
not cover (GitHub's delivery id, Shopify's topic) may also be accepted: then the event is stored
under exactly that value, and the suite's ledger counts it as valid.

Valid JSON that jsonb cannot hold is no reason to refuse a signed event: it is stored, 200.
"""

from __future__ import annotations

import json
import re
import string

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile.conftest import Target, assert_refused
from tests.hostile.schemes import SCHEMES, Headers, Scheme, encode, new_id
from tests.hostile.test_generated import examples, per_scheme
from tests.hostile.wire import request_bytes

# A header value splits into tokens at these; one token is replaced (the t of t=…,v1=…, say).
SEPARATORS = re.compile(r"([,= ])")
# Identity headers outside the signature, by scheme: a new value in the id header (scheme.id_header)
# is a new, valid event id; in the type header, the same event of another type.
UNSIGNED = {
    "github": ("X-GitHub-Delivery", "X-GitHub-Event"),
    "shopify": ("X-Shopify-Webhook-Id", "X-Shopify-Topic"),
    "acme": ("X-Acme-Delivery",),
}

STORED = "SELECT body, payload FROM webhook_events WHERE provider = %s AND event_id = %s"

digits = st.text(string.digits, min_size=1, max_size=400)
numbers = st.one_of(
    st.integers().map(str),
    st.floats().map(str),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e309", "-0", "+1", "0x1f", "1_000"]),
    st.sampled_from(["\u0663", "\uff11", "\u00b2"]),  # digits to str.isdigit(), sent as UTF-8
    digits.map(lambda d: "-" + d),
    st.tuples(digits, digits).map(".".join),
)
# Every byte a header value may carry on the wire, read by the server as latin-1: visible
# ASCII, tab, obs-text (0x80-0xFF).
latin1 = st.text(st.characters(codec="latin-1", exclude_categories=["Cc"]) | st.just("\t"), max_size=300)
values = st.one_of(digits, numbers, latin1)


def _signed(scheme: Scheme) -> tuple[str, bytes, Headers]:
    event_id = new_id("evt_hv")
    body = encode(scheme.document(event_id))
    return event_id, body, scheme.sign(body, event_id)


@st.composite
def spliced(draw: st.DrawFn, value: str) -> str:
    """``value`` with one of its tokens (or all of it) replaced by a drawn value."""
    parts = SEPARATORS.split(value)
    tokens = [i for i, part in enumerate(parts) if part and not SEPARATORS.fullmatch(part)]
    replacement = draw(values)
    if not tokens or draw(st.booleans()):
        return replacement
    parts[draw(st.sampled_from(tokens))] = replacement
    return "".join(parts)


def _wire(headers: Headers) -> list[tuple[bytes, bytes]]:
    """Values as latin-1 bytes where they can be (0xE9 for é), else as UTF-8."""
    return [(name.encode(), _latin1_or_utf8(value)) for name, value in headers]


def _latin1_or_utf8(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _request(scheme: Scheme, headers: Headers, body: bytes, name: str, value: str) -> bytes:
    replaced = [(key, value if key == name else old) for key, old in headers]
    return request_bytes(f"/webhooks/{scheme.name}", _wire(replaced), body)


@per_scheme
def test_a_hostile_value_in_a_signed_header_is_a_4xx(target: Target, scheme: Scheme) -> None:
    signed_names = [*scheme.signature_headers, *(["webhook-id"] if scheme.name == "standard" else [])]

    @examples(1200)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        _, body, headers = _signed(scheme)
        name = data.draw(st.sampled_from(signed_names))
        original = next(value for key, value in headers if key == name)
        value = data.draw(spliced(original))
        if value.strip() == original:
            return
        assert_refused(target.send_bad(_request(scheme, headers, body, name, value), scheme.name))

    check()


@pytest.mark.parametrize("scheme", [s for s in SCHEMES if s.name in UNSIGNED], ids=lambda s: s.name)
def test_any_value_in_an_unsigned_identity_header_is_a_4xx_or_stored_as_sent(target: Target, scheme: Scheme) -> None:
    @examples(600)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        event_id, body, headers = _signed(scheme)
        name = data.draw(st.sampled_from(UNSIGNED[scheme.name]))
        value = data.draw(values)
        stored_as = _latin1_or_utf8(value).decode("latin-1").strip() if name == scheme.id_header else event_id
        answer = target.deliver(scheme, stored_as, _request(scheme, headers, body, name, value))
        if answer.status == 200:
            with psycopg.connect(target.database_url) as conn:
                stored = conn.execute(STORED, (scheme.name, stored_as)).fetchall()
            assert len(stored) == 1
        else:
            assert_refused(answer)

    check()


# Valid JSON that Postgres's jsonb refuses; each is an event to store as it was signed.
JSONB_REFUSES = {"nul-escape": b'"\\u0000"', "lone-surrogate": b'"\\ud800"', "huge-exponent": b"1e200000"}


@per_scheme
@pytest.mark.parametrize("odd", JSONB_REFUSES.values(), ids=JSONB_REFUSES.keys())
def test_a_signed_event_jsonb_cannot_hold_is_stored_as_signed(target: Target, scheme: Scheme, odd: bytes) -> None:
    event_id = new_id("evt_odd")
    body = encode(scheme.document(event_id))[:-1] + b', "odd": ' + odd + b"}"
    data = request_bytes(f"/webhooks/{scheme.name}", scheme.sign(body, event_id), body)
    answer = target.deliver(scheme, event_id, data)
    assert (answer.status, json.loads(answer.body)) == (200, {"received": True, "duplicate": False})
    with psycopg.connect(target.database_url) as conn:
        assert conn.execute(STORED, (scheme.name, event_id)).fetchall() == [(body, None)]
