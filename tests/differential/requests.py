"""The requests the differential cases start from, signed when a case runs, and how a request
is taken apart into its request line, header lines and body to be changed and put back.

The long run (bench/differential.py) sets ``WEBHOOK_DIFFERENTIAL_EXAMPLES``: each generated
test then draws that many examples, and the enumerated sources (every split point, every
gadget) run whole instead of their bounded sample.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

from tests.harness.gunicorn import STRIPE_SECRET
from tests.signers import signed_stripe_request, stripe_event

EXAMPLES_VARIABLE = "WEBHOOK_DIFFERENTIAL_EXAMPLES"
LONG_RUN_EXAMPLES = int(os.environ.get(EXAMPLES_VARIABLE) or 0)
LONG_RUN = LONG_RUN_EXAMPLES > 0

HEALTH = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
# Behind a case: answered if the connection was kept alive, and a last request that closes it.
PROBE = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def delivery(*, signed: bool = True) -> bytes:
    """A Stripe delivery signed now, with a new event id, as a sender writes it on the wire.
    Unsigned (a signature of zeros, as long as a real one): its layout, for collection time."""
    if signed:
        body, headers = signed_stripe_request(stripe_event(), STRIPE_SECRET)
    else:
        body = json.dumps(stripe_event(), indent=2).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": f"t={int(time.time())},v1={'0' * 64}",
        }
    lines = (b"Host: 127.0.0.1", b"Content-Length: %d" % len(body), *(f"{k}: {v}".encode() for k, v in headers.items()))
    return bytes(Request(b"POST /webhooks/stripe HTTP/1.1", lines, body))


@dataclass(frozen=True)
class Request:
    """A request as lines: a mutation changes one part and puts the bytes back together."""

    line: bytes
    headers: tuple[bytes, ...]
    body: bytes = b""

    @classmethod
    def of(cls, data: bytes) -> Request:
        head, _, body = data.partition(b"\r\n\r\n")
        line, *headers = head.split(b"\r\n")
        return cls(line, tuple(headers), body)

    def __bytes__(self) -> bytes:
        return b"\r\n".join((self.line, *self.headers)) + b"\r\n\r\n" + self.body

    def with_header(self, line: bytes, at: int | None = None) -> Request:
        """``line`` added among the headers: at index ``at`` (modulo their number), else last."""
        at = len(self.headers) if at is None else at % (len(self.headers) + 1)
        return Request(self.line, (*self.headers[:at], line, *self.headers[at:]), self.body)

    def without(self, name: bytes) -> Request:
        return Request(
            self.line, tuple(h for h in self.headers if not h.lower().startswith(name.lower() + b":")), self.body
        )


def delivery_with(*headers: bytes, version: bytes = b"HTTP/1.1", length_prefix: bytes = b"") -> bytes:
    """A fresh delivery with ``headers`` added after the others, in HTTP ``version``, its
    Content-Length written with ``length_prefix`` (leading zeros) in front."""
    request = Request.of(delivery())
    for line in headers:
        request = request.with_header(line)
    lines = tuple(line.replace(b"Content-Length: ", b"Content-Length: " + length_prefix) for line in request.headers)
    return bytes(Request(request.line.replace(b"HTTP/1.1", version), lines, request.body))


def health_with(*headers: bytes, version: bytes = b"HTTP/1.1") -> bytes:
    return b"\r\n".join((b"GET /health " + version, b"Host: 127.0.0.1", *headers)) + b"\r\n\r\n"
