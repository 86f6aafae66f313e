"""Generated changes to a signed delivery or a health check (hypothesis), and pipelined streams
cut in two: the differential suite's generated cases.

A ``Mutation`` is drawn, not bytes: it is applied to a request signed when the case runs, so
a confirming run (and a shrunk example) has a fresh signature and event id. Each change is one
a client, a proxy or an attacker can make to a head, in the places where the main loop and
gunicorn could read it apart: the request line, header names and values (case, whitespace,
control bytes, duplicates), Content-Length (leading zeros, thousands of digits, signs, lists),
Connection token lists, the X-Forwarded-* scheme headers gunicorn checks for trusted peers,
raw bytes anywhere in the head, and whatever follows the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

from hypothesis import strategies as st

from tests.differential.requests import HEALTH, PROBE, Request, delivery
from tests.differential.wire import Case

METHODS = [b"POST", b"GET", b"HEAD", b"PUT", b"OPTIONS", b"post", b"Post", b"GE T", b"POST\t", b""]
TARGETS = [
    b"/webhooks/stripe",
    b"/webhooks/stripe/",
    b"/webhooks/%73tripe",
    b"/webhooks//stripe",
    b"/webhooks/stripe?x=1",
    b"/webhooks/stripe#x",
    b"/health",
    b"/health?x",
    b"/HEALTH",
    b"/health/",
    b"//health",
    b"/%68ealth",
    b"http://127.0.0.1/health",
    b"http://127.0.0.1/webhooks/stripe",
    b"*",
    b"webhooks/stripe",
    b"/webhooks/stripe x",
]
VERSIONS = [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/1.2", b"HTTP/2.0", b"HTTP/0.9", b"http/1.1", b"HTTP/1.1 ", b"HTTP/1"]
WHITESPACE = [b" ", b"\t", b"\x0b", b"\x0c", b"\r", b"\n", b"\x00", b"\x7f", b"\xa0", b"  "]
CONNECTION_TOKENS = [b"close", b"keep-alive", b"Close", b"KEEP-ALIVE", b"foo", b"upgrade", b"", b"te"]
SCHEME_HEADERS = [
    b"X-Forwarded-Proto: https",
    b"X-Forwarded-Proto: http",
    b"X-Forwarded-Proto: HTTPS",
    b"X-Forwarded-Ssl: on",
    b"X-Forwarded-Ssl: off",
    b"X-Forwarded-Protocol: ssl",
    b"X-Forwarded-Protocol: tls",
    b"X-Forwarded-Scheme: https",
    b"X-Forwarded-For: 203.0.113.9",
    b"Forwarded: for=203.0.113.9;proto=https",
]
TRAILERS = [b"", PROBE, PROBE, b"\r\n" + PROBE, b"x" * 20000, b"\r\n", b"GET /health HTTP/1.1\r\n"]


def _content_lengths(length: int) -> list[bytes]:
    n = b"%d" % length
    return [
        b"0" * 4301 + n,
        b"0" * 4300,
        b"0" * 5 + n,
        b"9" * 5000,
        b"9" * 20,
        b"+" + n,
        b"-1",
        b" " + n,
        n + b" ",
        n + b"," + n,
        n + b", " + n,
        b"%d" % (length + 1),
        b"%d" % max(0, length - 1),
        b"0",
        b"",
        b"0x%x" % length,
        n + b"\x00",
        "\u0661".encode() + n,  # ARABIC-INDIC DIGIT ONE: str.isdigit() says yes
    ]


@dataclass(frozen=True)
class HeaderChange:
    """One change to the header at ``index`` (modulo their number)."""

    kind: str  # "duplicate", "drop", "upper", "lower", "space-before-colon", "space-after-colon",
    # "space-before-name", "space-after-value", "fold"
    index: int
    space: bytes = b" "

    def apply(self, request: Request) -> Request:
        headers = list(request.headers)
        if not headers:
            return request
        at = self.index % len(headers)
        line = headers[at]
        name, colon, value = line.partition(b":")
        changed = {
            "duplicate": [line, line],
            "drop": [],
            "upper": [name.upper() + colon + value],
            "lower": [name.lower() + colon + value],
            "space-before-colon": [name + self.space + colon + value],
            "space-after-colon": [name + colon + self.space + value.lstrip()],
            "space-before-name": [self.space + line],
            "space-after-value": [line + self.space],
            "fold": [name + colon, self.space + value.lstrip()],
        }[self.kind]
        headers[at : at + 1] = changed
        return Request(request.line, tuple(headers), request.body)


@dataclass(frozen=True)
class ByteChange:
    """Bytes replaced in the head at a fraction of its length (the head's length varies little)."""

    at: float
    remove: int
    insert: bytes

    def apply(self, data: bytes) -> bytes:
        head_end = data.find(b"\r\n\r\n") + 4 or len(data)
        at = int(self.at * head_end)
        return data[:at] + self.insert + data[at + self.remove :]


@dataclass(frozen=True)
class Mutation:
    """What to change in a base request, and what to send after it."""

    method: bytes | None = None
    target: bytes | None = None
    version: bytes | None = None
    content_length: int | None = None  # an index into _content_lengths, for the request's own length
    connection: tuple[bytes, ...] | None = None
    connection_separator: bytes = b", "
    scheme_headers: tuple[bytes, ...] = ()
    header_changes: tuple[HeaderChange, ...] = ()
    byte_changes: tuple[ByteChange, ...] = ()
    trailer: bytes = b""

    def apply(self, data: bytes) -> bytes:
        request = Request.of(data)
        method, target, version = [*request.line.split(b" ", 2), b"", b""][:3]
        line = b" ".join((self.method or method, self.target or target, self.version or version))
        request = Request(line, request.headers, request.body)
        if self.content_length is not None:
            values = _content_lengths(len(request.body))
            value = values[self.content_length % len(values)]
            request = request.without(b"Content-Length").with_header(b"Content-Length: " + value, 1)
        if self.connection is not None:
            request = request.with_header(b"Connection: " + self.connection_separator.join(self.connection))
        for header in self.scheme_headers:
            request = request.with_header(header)
        for change in self.header_changes:
            request = change.apply(request)
        data = bytes(request)
        for byte_change in self.byte_changes:
            data = byte_change.apply(data)
        return data + self.trailer


header_changes = st.builds(
    HeaderChange,
    st.sampled_from(
        [
            "duplicate",
            "drop",
            "upper",
            "lower",
            "space-before-colon",
            "space-after-colon",
            "space-before-name",
            "space-after-value",
            "fold",
        ]
    ),
    st.integers(0, 8),
    st.sampled_from(WHITESPACE),
)
byte_changes = st.builds(
    ByteChange,
    st.floats(0, 1),
    st.integers(0, 3),
    st.one_of(st.sampled_from([b"", *WHITESPACE, b"\r\n", b":", b",", b"_"]), st.binary(max_size=4)),
)
# One strategy per kind of change: drawn alone (the rest of the request as sent, so a change
# that the main loop would read differently is not hidden behind another that sends the request
# to a thread anyway), or all together.
CHANGES = {
    "method": st.sampled_from(METHODS),
    "target": st.sampled_from(TARGETS),
    "version": st.sampled_from(VERSIONS),
    "content_length": st.integers(0, 40),
    "connection": st.lists(st.sampled_from(CONNECTION_TOKENS), min_size=1, max_size=3).map(tuple),
    "scheme_headers": st.lists(st.sampled_from(SCHEME_HEADERS), min_size=1, max_size=3).map(tuple),
    "header_changes": st.lists(header_changes, min_size=1, max_size=2).map(tuple),
    "byte_changes": st.lists(byte_changes, min_size=1, max_size=2).map(tuple),
}
UNCHANGED = {field.name: field.default for field in fields(Mutation)}
SEPARATORS = st.sampled_from([b", ", b",", b" ,", b" "])
one_change = st.one_of(
    [
        st.builds(Mutation, **{kind: change}, connection_separator=SEPARATORS, trailer=st.sampled_from(TRAILERS))
        for kind, change in CHANGES.items()
    ]
)
many_changes = st.builds(
    Mutation,
    **{kind: st.just(UNCHANGED[kind]) | change for kind, change in CHANGES.items()},
    connection_separator=SEPARATORS,
    trailer=st.sampled_from(TRAILERS),
)
mutations = st.one_of(one_change, many_changes)


def mutated(source: str, base: Callable[[], bytes], mutation: Mutation) -> Case:
    return Case(source, repr(mutation), lambda: [mutation.apply(base())])


def mutated_delivery(mutation: Mutation) -> Case:
    return mutated("generated delivery", delivery, mutation)


def mutated_health(mutation: Mutation) -> Case:
    return mutated("generated health", lambda: HEALTH, mutation)


# -- a pipelined stream cut in two ---------------------------------------------------------------


def pipelined(*, signed: bool = True) -> list[bytes]:
    """Two deliveries with a health check between them, then the first again: the main loop's
    both kinds of request, and a duplicate (its answer says so)."""
    first = delivery(signed=signed)
    return [first, HEALTH, delivery(signed=signed), first]


def split_points(requests: list[bytes], *, every: bool, near: int = 6, stride: int = 61) -> list[int]:
    """Where to cut the stream of ``requests``: every byte, or (bounded) a few bytes either side
    of where each request starts, where its head ends and where it ends, and every
    ``stride``-th byte between."""
    total = sum(len(request) for request in requests)
    if every:
        return list(range(1, total))
    boundaries, start = [], 0
    for request in requests:
        boundaries += [start, start + request.index(b"\r\n\r\n") + 4, start + len(request)]
        start += len(request)
    points = {at for boundary in boundaries for at in range(boundary - near, boundary + near + 1)}
    points |= set(range(stride, total, stride))
    return sorted(at for at in points if 0 < at < total)


def split_case(at: int) -> Case:
    def make() -> list[bytes]:
        stream = b"".join(pipelined())
        return [stream[:at], stream[at:]]

    return Case("pipelined split", f"cut at byte {at}", make)
