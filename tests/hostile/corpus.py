"""The fixed corpus: every kind of bad request the issue names, for every scheme, as bytes.

A case knows what it may get back: a 4xx always; ``may_close`` where gunicorn cannot answer
(the request never became one); ``reason`` where the app must name a specific refusal.

A case holds how to build its request, not the bytes: a request is signed when it is sent.
Signed once for the whole corpus, the timestamped schemes' cases went stale (300 s tolerance)
when the module ran late in a long session, and were refused as expired instead of for what
each case tests.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tests.hostile.conftest import MAX_BODY_BYTES
from tests.hostile.schemes import MARKER, SCHEMES, STALE_SECONDS, Headers, Scheme, bad_document, encode, new_id
from tests.hostile.wire import chunked, request_bytes

WRONG_SECRET = "whsec_not_the_configured_one_9f8e7d"
# Deeper than Python's recursion limit, small enough to stay under MAX_BODY_BYTES.
DEEP = 30_000


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], bytes]  # the request's bytes, signed now
    scheme: str | None  # whose route it targets, for the rejection count
    reason: str | None = None
    status: int | None = None
    may_close: bool = False


def cases() -> list[Case]:
    found = [case for scheme in SCHEMES for case in _scheme_cases(scheme)]
    found += list(_framing_cases(SCHEMES[0]))
    return found


def _replace(headers: Headers, name: str, value: str | None) -> Headers:
    """``headers`` with ``name`` set to ``value`` (dropped when None)."""
    kept = [(key, old) for key, old in headers if key.lower() != name.lower()]
    return kept if value is None else [*kept, (name, value)]


def _signature(headers: Headers, name: str) -> str:
    return next(value for key, value in headers if key.lower() == name.lower())


def _flipped(value: str) -> str:
    """The value with its last character changed: a forgery of the same length."""
    return value[:-1] + ("0" if value[-1] != "0" else "1")


# How a forger changes one signature header's value (None: drops the header).
TAMPERINGS: dict[str, Callable[[str], str | None]] = {
    "forged": _flipped,
    "truncated": lambda value: value[: len(value) // 2],
    "last-char-cut": lambda value: value[:-1],
    "empty": lambda value: "",
    "garbage": lambda value: "!!" + MARKER,
    "huge": lambda value: "a" * 6000,
    "doubled-forged": lambda value: _flipped(value) + "," + _flipped(value),
    "missing-only": lambda value: None,
}


def _scheme_cases(scheme: Scheme) -> Iterator[Case]:
    path = f"/webhooks/{scheme.name}"

    def case(name: str, headers: Callable[[], Headers], body: bytes, reason: str | None = None, **kwargs) -> Case:
        return Case(
            f"{scheme.name}-{name}", lambda: request_bytes(path, headers(), body, **kwargs), scheme.name, reason
        )

    event_id, document = bad_document(scheme)
    body = encode(document)

    def good() -> Headers:
        return scheme.sign(body, event_id)

    def tampered(header: str, change: Callable[[str], str | None]) -> Callable[[], Headers]:
        def headers() -> Headers:
            signed = good()
            return _replace(signed, header, change(_signature(signed, header)))

        return headers

    def duplicated_forged(header: str) -> Headers:
        signed = good()
        forged = _flipped(_signature(signed, header))
        return [*_replace(signed, header, forged), (header, forged)]

    def latin1(header: str) -> bytes:
        headers = [(k.encode(), v.encode()) for k, v in _replace(good(), header, None)]
        data = request_bytes(path, headers, body)
        return data.replace(b"\r\n\r\n", f"\r\n{header}: ".encode() + b"\xe9\xff\xfe" + b"\r\n\r\n", 1)

    def signed_at(timestamp: Callable[[], int]) -> Callable[[], Headers]:
        return lambda: scheme.sign(body, event_id, timestamp=timestamp())

    # Signatures: forged, truncated, wrong secret, missing, malformed, duplicated.
    yield case("wrong-secret", lambda: scheme.sign(body, event_id, secret=WRONG_SECRET), body)
    yield case("signed-another-body", lambda: scheme.sign(encode({**document, "other": 1}), event_id), body)
    yield case("no-signature", lambda: [h for h in good() if h[0] not in scheme.signature_headers], body)
    for header in scheme.signature_headers:
        for variant, change in TAMPERINGS.items():
            yield case(f"{header}-{variant}", tampered(header, change), body)
        yield case(f"{header}-duplicated-forged", functools.partial(duplicated_forged, header), body)
        yield Case(f"{scheme.name}-{header}-latin1", functools.partial(latin1, header), scheme.name)
    if scheme.timestamped:
        yield case("stale", signed_at(lambda: int(time.time()) - STALE_SECONDS), body)
        yield case("future", signed_at(lambda: int(time.time()) + STALE_SECONDS), body)
        yield case("epoch", signed_at(lambda: 0), body)
        yield case("far-future", signed_at(lambda: 2**62), body)

    # The body changed after signing.
    middle = len(body) // 2
    yield case("body-byte-flipped", good, body[:middle] + bytes([body[middle] ^ 1]) + body[middle + 1 :])
    yield case("body-truncated", good, body[:middle])
    yield case("body-appended", good, body + b" ")

    # Signed correctly, but not an event anyone sends: the parser and Postgres must refuse it.
    def signed(name: str, payload: bytes, reason: str | None = None, content_type: str | None = None) -> Case:
        def headers() -> Headers:
            signed = scheme.sign(payload, new_id("evt_bad"))
            return _replace(signed, "Content-Type", content_type) if content_type else signed

        return case(name, headers, payload, reason)

    yield signed("invalid-utf8", MARKER.encode() + b"\xff\xfe\xc3\x28", "body_not_utf8")
    yield signed("utf16", encode(document).decode().encode("utf-16"), "body_not_utf8")
    yield signed("empty-body", b"", "body_not_json")
    yield signed("deep-array", b"[" * DEEP + b"]" * DEEP, "body_not_json")
    deep = encode(document)[:-1] + b', "deep": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    yield signed("deep-inside-event", deep, "body_not_json")
    yield signed("deep-objects", b'{"a":' * (DEEP // 3) + b"1" + b"}" * (DEEP // 3), "body_not_json")
    yield signed("json-array", encode([document]), "body_not_json")
    yield signed("json-string", encode(MARKER), "body_not_json")
    yield signed("json-null", b"null", "body_not_json")
    yield signed("not-json", b"<xml>" + MARKER.encode() + b"</xml>", "body_not_json")
    yield signed("truncated-json", encode(document)[:-3], "body_not_json")
    form = f"payload={MARKER}&id=evt".encode()
    yield signed("form-encoded", form, "body_not_json", "application/x-www-form-urlencoded")
    multipart = f'--x\r\nContent-Disposition: form-data; name="payload"\r\n\r\n{MARKER}\r\n--x--\r\n'.encode()
    yield signed("multipart", multipart, "body_not_json", "multipart/form-data; boundary=x")
    # (Valid JSON that jsonb cannot hold is an event like any other: test_header_values.py.)
    yield signed("nan", encode(document)[:-1] + b', "amount": NaN}', "body_not_json")
    if scheme.id_field:
        for variant, value in {"missing": None, "number": 42, "empty": "", "long": "e" * 300, "list": ["a"]}.items():
            broken = dict(document)
            if value is None:
                del broken[scheme.id_field]
            else:
                broken[scheme.id_field] = value
            yield signed(f"id-{variant}", encode(broken), "event_malformed")
    if scheme.id_header:
        for variant, value in {"missing": None, "empty": "", "long": "e" * 300}.items():
            yield case(f"id-header-{variant}", tampered(scheme.id_header, lambda _, value=value: value), body)

    # Another scheme's valid delivery, replayed here.
    for other in SCHEMES:
        if other.name != scheme.name:
            other_id, other_document = bad_document(other)
            other_body = encode(other_document)
            yield case(f"replay-of-{other.name}", functools.partial(other.sign, other_body, other_id), other_body)

    # Wrong content types around a forged body.
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml", "\x7f"):
        changed = tampered("Content-Type", lambda _, content_type=content_type: content_type)
        yield case(f"content-type-{content_type[:12]}", changed, body + b" ")

    # Too large: refused from Content-Length before the body is read, and chunked past the limit.
    padded = dict(document, padding="p" * MAX_BODY_BYTES)
    large = encode(padded)
    yield Case(
        f"{scheme.name}-oversized-declared",
        lambda: request_bytes(
            path, [*scheme.sign(large, event_id), ("Content-Length", str(len(large)))], b"", framing="none"
        ),
        scheme.name,
        "request_entity_too_large",
        413,
    )
    signed_large = functools.partial(scheme.sign, large, event_id)
    yield case("oversized-chunked", signed_large, large, "request_entity_too_large", framing="chunked")
    forged = tampered(scheme.signature_headers[0], lambda _: "x")
    yield case("forged-chunked", forged, body, framing="chunked", chunk_size=7)


def _framing_cases(scheme: Scheme) -> Iterator[Case]:
    """HTTP itself broken: gunicorn's parser or the app's body reader must refuse it."""
    path = f"/webhooks/{scheme.name}"
    event_id, document = bad_document(scheme)
    body = encode(document)

    def raw(name: str, extra: list[tuple[str, str]], payload: bytes, *, reason: str | None = None, **kw) -> Case:
        def data() -> bytes:
            return request_bytes(path, [*scheme.sign(body, event_id), *extra], payload, framing="none")

        return Case(f"framing-{name}", data, scheme.name, reason, **kw)

    length = str(len(body))
    yield raw("two-content-lengths", [("Content-Length", length), ("Content-Length", "3")], body)
    yield raw("content-length-and-chunked", [("Content-Length", length), ("Transfer-Encoding", "chunked")], body)
    yield raw("negative-length", [("Content-Length", "-1")], body)
    yield raw("plus-length", [("Content-Length", "+" + length)], body)
    yield raw("hex-length", [("Content-Length", "0x10")], body)
    yield raw("length-with-spaces", [("Content-Length", length + " 1")], body)
    yield raw("huge-length", [("Content-Length", "9" * 18)], body, status=413)
    # Beyond a 64-bit integer: gunicorn's C parser (gunicorn_h1c) refuses the head itself.
    yield raw("length-beyond-int64", [("Content-Length", "9" * 30)], body, status=400)
    yield raw("gzip-coding", [("Transfer-Encoding", "gzip")], body, may_close=True)
    yield raw("chunked-twice", [("Transfer-Encoding", "chunked, chunked")], chunked(body, 64))
    # gunicorn's 501 (RFC 9112 6.1) for a coding it does not implement is a 400 here (gthread_worker).
    yield raw("unknown-coding", [("Transfer-Encoding", "rot13, chunked")], chunked(body, 64), status=400)
    yield raw("identity-coding", [("Transfer-Encoding", "identity")], body, may_close=True)
    te = [("Transfer-Encoding", "chunked")]
    yield raw("bad-chunk-size", te, b"zz\r\n" + body + b"\r\n0\r\n\r\n", reason="body_malformed")
    yield raw("chunk-longer-than-said", te, b"3\r\n" + body + b"\r\n0\r\n\r\n", reason="body_malformed")
    yield raw("chunk-shorter-than-said", te, b"%x\r\n" % (len(body) + 500) + body + b"\r\n0\r\n\r\n")
    yield raw("chunk-size-overflow", te, b"f" * 40 + b"\r\n" + body + b"\r\n0\r\n\r\n")
    yield raw("chunk-no-last-chunk", te, b"%x\r\n" % len(body) + body + b"\r\n", reason="body_incomplete")
    yield raw("chunk-bad-extension", te, b"%x;\x01=\x02\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    yield raw("chunk-bare-lf", te, b"%x\n" % len(body) + body + b"\n0\n\n")
    yield raw("chunk-huge-trailer", te, chunked(body, 64)[:-2] + b"X-T: " + b"t" * 40000 + b"\r\n\r\n")
    yield raw("length-longer-than-sent", [("Content-Length", str(len(body) + 100))], body, reason="body_incomplete")
    yield raw("length-shorter-than-sent", [("Content-Length", str(len(body) - 10))], body)
    yield raw("expect-unknown", [("Expect", "202-accepted"), ("Content-Length", length)], body, status=417)
    yield raw("line-folding", [("X-Folded", "a\r\n folded"), ("Content-Length", length)], body)
    yield raw("nul-in-header", [("X-Nul", "a\x00b"), ("Content-Length", length)], body)
    yield raw("space-in-name", [("Bad Name", "1"), ("Content-Length", length)], body)
    yield raw("huge-header", [("X-Big", "b" * 9000), ("Content-Length", length)], body, status=431)
    yield raw("many-headers", [(f"X-H{i}", "1") for i in range(150)] + [("Content-Length", length)], body, status=431)
    # Within gunicorn's limits on each field and on their number (100 x 8190 bytes): read, then
    # refused on its signature. A proxy in front allows far less (nginx 4 x 8k, HAProxy 16k).
    fill = [(f"X-Fill{i}", "f" * 8000) for i in range(90)] + [("Content-Length", length)]
    big = functools.partial(request_bytes, path, fill, body, framing="none")
    yield Case("framing-headers-700k", big, scheme.name, "signature_missing")

    def line(name: str, request_line: bytes, **kw) -> Case:
        data = request_line + b"\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        return Case(f"request-line-{name}", lambda: data, scheme.name, **kw)

    yield line("too-long", b"POST " + path.encode() + b"?" + b"q" * 9000 + b" HTTP/1.1", status=414)
    yield line("http-9", b"POST " + path.encode() + b" HTTP/9.9")
    yield line("no-version", b"POST " + path.encode())
    yield line("lowercase-method", b"post " + path.encode() + b" HTTP/1.1", may_close=True)
    yield line("odd-method", b"P\x00ST " + path.encode() + b" HTTP/1.1")
    yield line("get", b"GET " + path.encode() + b" HTTP/1.1", status=405)
    yield line("put", b"PUT " + path.encode() + b" HTTP/1.1", status=405)
    yield line("delete", b"DELETE " + path.encode() + b" HTTP/1.1", status=405)
    yield line("unknown-scheme", b"POST /webhooks/nobody HTTP/1.1", status=404)
    yield line("nested-path", b"POST " + path.encode() + b"/x/y HTTP/1.1", status=404)
    yield line("traversal", b"POST /webhooks/../../etc/passwd HTTP/1.1", status=404)
    yield line("percent-junk", b"POST /webhooks/%ff%00%2F HTTP/1.1", status=404)
    yield line("absolute-form", b"POST http://evil.example" + path.encode() + b" HTTP/1.1", may_close=True)
    yield line("asterisk", b"OPTIONS * HTTP/1.1", may_close=True)

    def garbage(name: str, data: bytes) -> Case:
        return Case(f"garbage-{name}", lambda: data, None, may_close=True)

    yield garbage("tls-hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64)
    yield garbage("nothing", b"")
    yield garbage("newlines", b"\r\n" * 100)
    yield garbage("binary", bytes(range(256)) * 4)
    yield garbage("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
