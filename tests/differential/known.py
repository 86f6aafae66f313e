"""The differences an HTTP review found between the main loop and gunicorn (issue 29), as
cases: the differential suite sends them to its server pairs (test_known.py, test_limits.py),
the hostile suite through the shipped proxies (tests/hostile/test_main_loop_behind_proxies.py).

1. a Content-Length of over 4,300 digits (leading zeros): int() raised and ended the worker;
2. contradictory X-Forwarded-* scheme headers from a trusted peer: gunicorn's 400, not a 200;
3. ``--limit-request-line`` above 8,190, which gunicorn caps for its C parser (``long_line_cases``,
   for servers started with ``RAISED_LINE_LIMIT``);
4. Connection token lists, read as gunicorn reads them;
5. a closing answer with more bytes behind it: the server's FIN, not a reset.
"""

from __future__ import annotations

from collections.abc import Iterator

from tests.differential.requests import PROBE, Request, delivery, delivery_with, health_with
from tests.differential.wire import Case

RAISED_LINE_LIMIT = 10000
# Request lines just under, at and over gunicorn's cap, and up to the raised limit.
LINE_LENGTHS = (4094, 4095, 8189, 8190, 8191, 9000, RAISED_LINE_LIMIT, RAISED_LINE_LIMIT + 1)
HUGE_ZEROS = b"0" * 4301
TRAILING = b"x" * 20000
SCHEME_CONTRADICTIONS = (
    (b"X-Forwarded-Proto: https", b"X-Forwarded-Ssl: off"),
    (b"X-Forwarded-Proto: http", b"X-Forwarded-Protocol: ssl"),
)
CONNECTION_TOKENS = (
    (b"HTTP/1.1", b"close, foo"),
    (b"HTTP/1.1", b"keep-alive, close"),
    (b"HTTP/1.1", b"foo,close"),
    (b"HTTP/1.0", b"Keep-Alive, foo"),
)


def known_cases() -> Iterator[Case]:
    yield Case("known", "1 health, CL of 4301 zeros", lambda: [health_with(b"Content-Length: " + HUGE_ZEROS)])
    yield Case("known", "1 health, CL of 5000 nines", lambda: [health_with(b"Content-Length: " + b"9" * 5000)])
    yield Case("known", "1 delivery, CL of 4301 zeros", lambda: [delivery_with(b"X: y", length_prefix=HUGE_ZEROS)])
    for version in (b"HTTP/1.1", b"HTTP/1.0"):
        for pair in SCHEME_CONTRADICTIONS:
            name = f"2 {version.decode()} {b' + '.join(pair).decode()}"
            yield Case("known", f"{name} delivery", lambda p=pair, v=version: [delivery_with(*p, version=v)])
            yield Case("known", f"{name} health", lambda p=pair, v=version: [health_with(*p, version=v) + PROBE])
    for version, tokens in CONNECTION_TOKENS:
        line = b"Connection: " + tokens
        name = f"4 {version.decode()} Connection: {tokens.decode()}"
        yield Case("known", f"{name} health", lambda h=line, v=version: [health_with(h, version=v) + PROBE])
        yield Case("known", f"{name} delivery", lambda h=line, v=version: [delivery_with(h, version=v) + PROBE])
    yield Case("known", "5 HTTP/1.0 health, bytes behind", lambda: [health_with(version=b"HTTP/1.0") + TRAILING])
    yield Case("known", "5 close delivery, bytes behind", lambda: [delivery_with(b"Connection: close") + TRAILING])
    for shutdown in (True, False):
        yield Case(
            "known",
            f"5 close health, a probe behind{'' if shutdown else ', no end of stream'}",
            lambda: [health_with(b"Connection: close") + PROBE],
            shutdown=shutdown,
        )


def padded(request: bytes, line_length: int) -> bytes:
    """``request`` with a query string that makes its request line ``line_length`` bytes long."""
    parsed = Request.of(request)
    method, target, version = parsed.line.split(b" ")
    padding = line_length - len(parsed.line) - len(b"?q=")
    line = b" ".join((method, target + b"?q=" + b"a" * padding, version))
    return bytes(Request(line, parsed.headers, parsed.body))


def long_line_cases() -> Iterator[Case]:
    for length in LINE_LENGTHS:
        yield Case("limits", f"health, request line of {length}", lambda n=length: [padded(health_with(), n) + PROBE])
        yield Case("limits", f"delivery, request line of {length}", lambda n=length: [padded(delivery(), n) + PROBE])


def all_known_cases() -> list[Case]:
    return [*known_cases(), *long_line_cases()]


# Found by this suite's long run (bench/differential.py): a Host werkzeug cannot bind its URL map
# to (Flask answers 400 BAD REQUEST and stores nothing), which the main loop did not look at: it
# answered 200, and stored the delivery. An empty label, and a label over 63 characters.
UNROUTABLE_HOSTS = (b".0.1", b"a..b", b"x" * 64 + b".example")


def with_host(request: bytes, host: bytes) -> bytes:
    return bytes(Request.of(request).without(b"Host").with_header(b"Host: " + host, 0))


def found_cases() -> Iterator[Case]:
    for host in UNROUTABLE_HOSTS:
        yield Case("found", f"health, Host: {host.decode()}", lambda h=host: [with_host(health_with(), h) + PROBE])
        yield Case("found", f"delivery, Host: {host.decode()}", lambda h=host: [with_host(delivery(), h) + PROBE])
