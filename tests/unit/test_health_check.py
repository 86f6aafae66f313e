"""What the main loop takes for a health check it may answer itself, and what it leaves to gunicorn."""

from __future__ import annotations

import json

import pytest

from webhook_server.serving.health_check import parse, response


def test_a_balancers_check_is_recognised_with_its_length() -> None:
    head = b"GET /health HTTP/1.0\r\nHost: 10.0.0.1\r\nUser-Agent: HAProxy\r\n\r\n"
    check = parse(head + b"GET /next")
    assert check is not None
    assert (check.method, check.target, check.minor_version) == ("GET", "/health", 0)
    assert check.head_length == len(head)
    assert check.headers["user-agent"] == "HAProxy"


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"GET /health HTTP/1.1\r\n\r\n", True),
        (b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n", False),
        (b"HEAD /health?full=1 HTTP/1.0\r\n\r\n", False),
        (b"GET /health HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", True),
    ],
)
def test_keep_alive_follows_http_1_0_and_1_1(head: bytes, keep_alive: bool) -> None:
    check = parse(head)
    assert check is not None and check.head_length == len(head)
    assert check.keep_alive is keep_alive


@pytest.mark.parametrize(
    "data",
    [
        b"GET /health HTTP/1.1\r\nHost: x\r\n",  # the rest of the head is still on its way
        b"GET /healthz HTTP/1.1\r\n\r\n",
        b"POST /health HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        b"GET /webhooks/stripe HTTP/1.1\r\n\r\n",
        b"GET /health HTTP/2.0\r\n\r\n",
        b"GET /health HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        b"GET /health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET /health HTTP/1.1\r\nno colon here\r\n\r\n",  # gunicorn answers 400: so must we, by not answering
        b"GET /health HTTP/1.1\r\nHost : x\r\n\r\n",
        b"GET /health HTTP/1.1\r\n folded: x\r\n\r\n",
        b"GET /health HTTP/1.1\n\n",
        b"GET /health HTTP/1.1\r\nX(y): 1\r\n\r\n",
        b"GET /health HTTP/1.1\r\nX: a\x00b\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET /health?\xff HTTP/1.1\r\n\r\n",
        b"GET /health HTTP/1.1\r\n" + b"".join(b"X%d: 1\r\n" % i for i in range(33)) + b"\r\n",
        b"\x16\x03\x01\x02\x00",  # a TLS hello
        b"",
    ],
)
def test_anything_else_is_left_to_the_request_threads(data: bytes) -> None:
    assert parse(data) is None


def test_the_answer_is_flasks_json_and_head_has_no_body() -> None:
    get = parse(b"GET /health HTTP/1.1\r\n\r\n")
    head = parse(b"HEAD /health HTTP/1.1\r\n\r\n")
    assert get is not None and head is not None
    full = response(get, {"status": "draining"}, 503, close=True)
    headers, _, body = full.partition(b"\r\n\r\n")
    assert headers.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"\r\nConnection: close\r\n" in headers and b"\r\nContent-Type: application/json\r\n" in headers
    assert json.loads(body) == {"status": "draining"}
    assert f"Content-Length: {len(body)}".encode() in headers
    assert response(head, {"status": "draining"}, 503, close=True) == headers + b"\r\n\r\n"
