"""What the main loop takes for a request it may answer itself (a health check, a whole delivery),
and what it leaves to gunicorn's request threads."""

from __future__ import annotations

import json

import pytest
from gunicorn.config import Config

from webhook_server.web.health import is_health_check
from webhook_server.web.raw_http import FixedConfig, RequestHead, json_payload, parse, response

PEER = ("127.0.0.1", 40000)  # a trusted proxy by default (forwarded_allow_ips)


def config(*args: str) -> FixedConfig:
    """gunicorn's configuration as its command line would set it, as the worker gives it to parse."""
    cfg = Config()
    for name, value in zip(args[::2], args[1::2], strict=True):
        cfg.set(name, value)
    return FixedConfig(cfg)


CFG = config()


def head_of(data: bytes, cfg: FixedConfig = CFG) -> RequestHead:
    head = parse(data, cfg, PEER)
    assert head is not None
    return head


def test_a_balancers_check_is_recognised_with_its_length() -> None:
    raw = b"GET /health HTTP/1.0\r\nHost: 10.0.0.1\r\nUser-Agent: HAProxy\r\n\r\n"
    head = head_of(raw + b"GET /next")
    assert (head.method, head.path, head.minor_version) == ("GET", "/health", 0)
    assert head.length == len(raw)
    assert head.headers["User-Agent"] == head.headers.get("user-agent") == "HAProxy"
    assert is_health_check(head)


def test_a_delivery_head_gives_its_length_headers_and_content_length() -> None:
    raw = b"POST /webhooks/stripe?x=1 HTTP/1.1\r\nStripe-Signature: t=1,v1=ab\r\nContent-Length: 2\r\n\r\n"
    head = head_of(raw + b"{}")
    assert (head.method, head.path, head.query, head.target) == (
        "POST",
        "/webhooks/stripe",
        "x=1",
        "/webhooks/stripe?x=1",
    )
    assert head.length == len(raw) and head.content_length == 2
    assert "stripe-signature" in head.headers and head.headers.get("STRIPE-SIGNATURE") == "t=1,v1=ab"
    assert not is_health_check(head)


@pytest.mark.parametrize(
    ("raw", "close"),
    [
        (b"GET /health HTTP/1.1\r\n\r\n", False),
        (b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n", True),
        (b"HEAD /health?full=1 HTTP/1.0\r\n\r\n", True),
        (b"GET /health HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", False),
        # gunicorn reads the first Connection header as one token: a list is neither word, so
        # the version decides.
        (b"GET /health HTTP/1.1\r\nConnection: close, foo\r\n\r\n", False),
        (b"GET /health HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n", False),
        (b"GET /health HTTP/1.1\r\nConnection: foo,close\r\n\r\n", False),
        (b"GET /health HTTP/1.0\r\nConnection: Keep-Alive, foo\r\n\r\n", True),
        (b"GET /health HTTP/1.0\r\nConnection: foo, keep-alive\r\n\r\n", True),
    ],
)
def test_connection_is_read_as_gunicorn_reads_it(raw: bytes, close: bool) -> None:
    head = head_of(raw)
    assert head.length == len(raw)
    assert head.should_close is close


@pytest.mark.parametrize(
    "data",
    [
        b"GET /health HTTP/1.1\r\nHost: x\r\n",  # the rest of the head is still on its way
        b"GET /health HTTP/2.0\r\n\r\n",
        b"GET /health HTTP/1.1\r\nno colon here\r\n\r\n",  # gunicorn answers 400: so must we, by not answering
        b"GET /health HTTP/1.1\r\nHost : x\r\n\r\n",
        b"GET /health HTTP/1.1\r\n folded: x\r\n\r\n",
        b"GET /health HTTP/1.1\n\n",
        b"GET /health HTTP/1.1\r\nX(y): 1\r\n\r\n",
        b"GET /health HTTP/1.1\r\nX: a\x00b\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET /health HTTP/1.1\r\nhost: a\r\nHOST: b\r\n\r\n",
        b"GET /health?\xff HTTP/1.1\r\n\r\n",
        b"GET /health HTTP/1.1\r\n" + b"".join(b"X%d: 1\r\n" % i for i in range(101)) + b"\r\n",
        b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n",
        b"get /health HTTP/1.1\r\n\r\n",
        b"GET health HTTP/1.1\r\n\r\n",
        b"POST /webhooks/stripe HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /webhooks/stripe HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
        b"POST /webhooks/stripe HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}",
        b"POST /webhooks/stripe HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n{}",
        # A trusted proxy's SCRIPT_NAME would change the path gunicorn gives the app.
        b"GET /health HTTP/1.1\r\nSCRIPT_NAME: /x\r\n\r\n",
        b"POST /webhooks/stripe HTTP/1.1\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\n{}",
        b"\x16\x03\x01\x02\x00",  # a TLS hello
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"",
        # int() refuses more than 4,300 digits: gunicorn answers 400, and the worker lives.
        b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"0" * 4301 + b"\r\n\r\n",
        b"POST /webhooks/stripe HTTP/1.1\r\nContent-Length: " + b"0" * 5000 + b"2\r\n\r\n{}",
        # A trusted proxy's scheme headers that contradict each other: gunicorn's 400.
        b"GET /health HTTP/1.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n\r\n",
        b"GET /health HTTP/1.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Protocol: ssl\r\n\r\n",
        b"GET /health HTTP/1.1\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n",
    ],
)
def test_anything_else_is_left_to_the_request_threads(data: bytes) -> None:
    assert parse(data, CFG, PEER) is None


def test_scheme_headers_count_only_from_a_trusted_proxy() -> None:
    raw = b"GET /health HTTP/1.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n\r\n"
    assert parse(raw, CFG, ("203.0.113.7", 40000)) is not None  # ignored, as gunicorn ignores them


def test_one_empty_line_before_the_request_line_is_skipped_as_gunicorn_does() -> None:
    raw = b"\r\nGET /health HTTP/1.1\r\n\r\n"
    assert head_of(raw + b"GET /next").length == len(raw)


@pytest.mark.parametrize(
    "data",
    [
        b"GET /healthz HTTP/1.1\r\n\r\n",
        b"POST /health HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        b"GET /webhooks/stripe HTTP/1.1\r\n\r\n",
        b"GET /health HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    ],
)
def test_only_a_bodiless_get_or_head_of_health_is_a_health_check(data: bytes) -> None:
    assert not is_health_check(head_of(data))


def test_the_limits_are_gunicorns() -> None:
    raw = b"GET /health HTTP/1.1\r\nX-Long: " + b"a" * 100 + b"\r\n\r\n"
    assert parse(raw, CFG, PEER) is not None
    assert parse(raw, config("limit_request_field_size", "50"), PEER) is None
    assert parse(raw, config("limit_request_line", "10"), PEER) is None
    # gunicorn caps the request line at 8,190 bytes whatever the setting says (0 is its 1 MiB).
    long_line = b"GET /health?" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n"
    assert parse(long_line, config("limit_request_line", "10000"), PEER) is None
    assert parse(long_line, config("limit_request_line", "0"), PEER) is not None


def test_the_path_is_the_one_flask_routes_on() -> None:
    head = head_of(b"GET /%68ealth HTTP/1.1\r\n\r\n")
    assert (head.path, head.target) == ("/health", "/%68ealth")
    assert is_health_check(head)
    assert head_of(b"GET http://x/health HTTP/1.1\r\n\r\n").path == "/health"


def test_a_name_with_an_underscore_is_dropped_as_gunicorn_drops_it() -> None:
    head = head_of(b"POST /webhooks/stripe HTTP/1.1\r\nContent-Length: 2\r\nStripe_Signature: t=1\r\n\r\n{}")
    assert dict(head.headers) == {"content-length": "2"}


def test_the_answer_is_flasks_json_and_head_has_no_body() -> None:
    get, head = head_of(b"GET /health HTTP/1.1\r\n\r\n"), head_of(b"HEAD /health HTTP/1.1\r\n\r\n")
    full = response(get, 503, json_payload({"status": "draining"}), close=True)
    headers, _, body = full.partition(b"\r\n\r\n")
    assert headers.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"\r\nConnection: close\r\n" in headers and b"\r\nContent-Type: application/json\r\n" in headers
    assert json.loads(body) == {"status": "draining"}
    assert f"Content-Length: {len(body)}".encode() in headers
    assert response(head, 503, json_payload({"status": "draining"}), close=True) == headers + b"\r\n\r\n"
    kept = response(head_of(b"POST /webhooks/x HTTP/1.0\r\nContent-Length: 0\r\n\r\n"), 200, b"{}\n", close=False)
    assert kept.startswith(b"HTTP/1.0 200 OK\r\n") and b"\r\nConnection: keep-alive\r\n" in kept


@pytest.mark.parametrize("host", [b".0.1", b"a..b", b"x" * 64 + b".example"])
def test_a_host_flask_cannot_route_on_is_left_to_the_threads(host: bytes) -> None:
    """werkzeug binds the URL map to the Host encoded as IDNA, and answers 400 where it cannot."""
    assert parse(b"GET /health HTTP/1.1\r\nHost: " + host + b"\r\n\r\n", CFG, PEER) is None
    assert head_of(b"GET /health HTTP/1.1\r\nHost: a.b:8000\r\n\r\n").headers["host"] == "a.b:8000"
