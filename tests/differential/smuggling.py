"""Request-smuggling gadgets: Transfer-Encoding and Content-Length headers written the ways
parsers disagree on, each put into a signed delivery with a request pipelined behind it.

The families follow the gadget lists of defparam/smuggler (https://github.com/defparam/smuggler,
configs/default.py, doubles.py, exhaustive.py), which inspired this generator; none of its code
or text is used. A gadget is a header line (or two) put right after the request line; the body
is framed two ways: its own Content-Length, or chunked with a Content-Length of the chunked
bytes, so a server that honours one header and one that honours the other read different
requests, and the health check pipelined behind shows where each thinks the stream went on.
"""

from __future__ import annotations

from collections.abc import Iterator

from tests.differential.requests import PROBE, Request, delivery
from tests.differential.wire import Case

TE = b"Transfer-Encoding"
CHUNKED = b"chunked"
# Every control byte and every byte past ASCII (the long run); a sample of them (the bounded one).
ALL_ODD_BYTES = [bytes([b]) for b in (*range(0x00, 0x21), *range(0x7F, 0x100))]
SOME_ODD_BYTES = [bytes([b]) for b in (0x00, 0x09, 0x0B, 0x0C, 0x0D, 0x20, 0x7F, 0xFF)]


def _placed(byte: bytes) -> Iterator[tuple[str, bytes]]:
    """``byte`` in each place around the name and the value, alone and paired."""
    yield "before-name", byte + TE + b": " + CHUNKED
    yield "after-name", TE + byte + b": " + CHUNKED
    yield "before-value", TE + b":" + byte + CHUNKED
    yield "after-value", TE + b": " + CHUNKED + byte
    yield "after-other-value", b"X: X" + byte + TE + b": " + CHUNKED
    yield "before-other-name", TE + b": " + CHUNKED + byte + b"X: X"
    yield "cr-then", b"X: X\r" + byte + TE + b": " + CHUNKED
    yield "then-lf", b"X: X" + byte + b"\n" + TE + b": " + CHUNKED
    yield "around-name", byte + TE + byte + b": " + CHUNKED
    yield "around-colon", TE + byte + b":" + byte + CHUNKED
    yield "around-value", TE + b":" + byte + CHUNKED + byte


NAMED = {
    "space-before-colon": TE + b" : chunked",
    "tab-before-colon": TE + b"\t:\tchunked",
    "no-space": TE + b":chunked",
    "two-spaces": TE + b":  chunked",
    "space-in-name": b"Transfer Encoding: chunked",
    "underscore-in-name": b"Transfer_Encoding: chunked",
    "cr-in-name": b"Transfer\r-Encoding: chunked",
    "accented-name": b"Transf\x82r-Encoding: chunked",
    "upper": b"TRANSFER-ENCODING: CHUNKED",
    "mixed-case": b"TrAnSFer-EnCODinG: cHuNkeD",
    "chunked-then-other": TE + b": chunked, cow",
    "other-then-chunked": TE + b": cow, chunked",
    "chunked-twice": TE + b": chunked, chunked",
    "identity": TE + b": identity",
    "gzip-chunked": TE + b": gzip, chunked",
    "words": TE + b": cow chunked bar",
    "quoted": TE + b': "chunked"',
    "single-quoted": TE + b": 'chunked'",
    "prefix": TE + b": chunk",
    "accented-value": TE + b": ch\x96nked",
    "folded-lf": TE + b":\n chunked",
    "folded-crlf": TE + b":\r\n chunked",
    "folded-tab": TE + b":\r\n\tchunked",
    "folded-onto-other": b"X: X\r\n " + TE + b": chunked",
    "lf-before": b"X: X\n" + TE + b": chunked",
    "cr-before": b"X: X\r" + TE + b": chunked",
    "other-then-te": TE + b": cow\r\n" + TE + b": chunked",
    "te-then-other": TE + b": chunked\r\n" + TE + b": cow",
    "te-twice": TE + b": chunked\r\n" + TE + b": chunked",
    "content-encoding": b"Content-Encoding: chunked",
    # Content-Length written twice or oddly beside the delivery's own (ours, not the gadget lists').
    "cl-again-same": b"Content-Length: {length}",
    "cl-again-other": b"Content-Length: 0",
    "cl-list": b"Content-Length: {length}, {length}",
    "cl-plus": b"Content-Length: +{length}",
    "cl-zeros": b"Content-Length: 000{length}",
    "cl-space-before-colon": b"Content-Length : 0",
    "cl-tab-value": b"Content-Length:\t0",
    "cl-folded": b"Content-Length: 0\r\n 5",
}


def gadgets(odd_bytes: list[bytes]) -> list[tuple[str, bytes]]:
    """Every named gadget, and each of ``odd_bytes`` in every place."""
    placed = [(f"{place}-{byte.hex()}", line) for byte in odd_bytes for place, line in _placed(byte)]
    return list(NAMED.items()) + placed


def chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def smuggled(gadget: bytes, framing: str) -> bytes:
    """A fresh delivery with ``gadget`` after its request line, its body framed by ``framing``
    ("length": as signed; "chunked": chunked, Content-Length counting the chunked bytes), and a
    health check behind it."""
    request = Request.of(delivery())
    body = request.body if framing == "length" else chunked(request.body)
    gadget = gadget.replace(b"{length}", b"%d" % len(body))
    request = Request(request.line, request.headers, body).without(b"Content-Length")
    request = request.with_header(b"Content-Length: %d" % len(body)).with_header(gadget, 0)
    return bytes(request) + PROBE


def smuggling_cases(*, everything: bool) -> list[Case]:
    """The corpus: (bounded) a sample of odd bytes, one framing for the TE gadgets (chunked) and
    one for the CL gadgets (as signed); (long run) every odd byte and both framings for all."""
    cases = []
    for name, gadget in gadgets(ALL_ODD_BYTES if everything else SOME_ODD_BYTES):
        framings = ["length", "chunked"] if everything else ["length" if name.startswith("cl-") else "chunked"]
        for framing in framings:
            cases.append(Case("smuggling", f"{name} {framing}", lambda g=gadget, f=framing: [smuggled(g, f)]))
    return cases
