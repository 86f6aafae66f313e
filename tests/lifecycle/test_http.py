"""What a sender sees over real HTTP from the shipped gunicorn configuration."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
import requests

from tests.conftest import STRIPE_SECRET, stored_rows
from tests.harness.gunicorn import GunicornServer, read_response
from tests.signers import signed_stripe_request, stripe_event

LIMIT = 4096


def oversized_event() -> dict:
    event = stripe_event()
    event["data"]["object"]["metadata"]["padding"] = "x" * (2 * LIMIT)
    return event


def test_an_oversized_body_is_refused_before_it_is_read(
    start_server: Callable[..., GunicornServer], clean_db: str
) -> None:
    server = start_server(WEBHOOK_MAX_BODY_BYTES=str(LIMIT))
    body, headers = signed_stripe_request(oversized_event(), STRIPE_SECRET)
    head = f"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as client:
        client.sendall(head.encode() + b"\r\n")  # headers only: the answer must not wait for the body
        status, answer = read_response(client)
    assert status == 413, answer
    assert stored_rows(clean_db) == []


def test_an_oversized_chunked_body_is_413(start_server: Callable[..., GunicornServer], clean_db: str) -> None:
    server = start_server(WEBHOOK_MAX_BODY_BYTES=str(LIMIT))
    body, headers = signed_stripe_request(oversized_event(), STRIPE_SECRET)
    chunks = (body[i : i + 1024] for i in range(0, len(body), 1024))
    response = requests.post(server.url("/webhooks/stripe"), data=chunks, headers=headers, timeout=10)
    assert response.status_code == 413
    assert stored_rows(clean_db) == []


def test_no_redirect_for_the_trailing_slash(start_server: Callable[..., GunicornServer], clean_db: str) -> None:
    server = start_server()
    body, headers = signed_stripe_request(stripe_event(), STRIPE_SECRET)
    response = requests.post(
        server.url("/webhooks/stripe/"), data=body, headers=headers, timeout=10, allow_redirects=False
    )
    assert response.status_code == 200
    assert len(stored_rows(clean_db)) == 1


def test_a_signed_delivery_to_a_mistyped_path_gets_the_apps_json_404_and_health_its_answer(
    start_server: Callable[..., GunicornServer], clean_db: str
) -> None:
    """The main loop answers /health and signed deliveries itself; a delivery to a path outside
    /webhooks/ goes on to Flask, whose 404 names the routes' form."""
    server = start_server()
    body, headers = signed_stripe_request(stripe_event(), STRIPE_SECRET)
    mistyped = requests.post(server.url("/webhook/stripe"), data=body, headers=headers, timeout=10)
    assert (mistyped.status_code, mistyped.headers["Content-Type"]) == (404, "application/json")
    assert mistyped.json()["message"] == "no such path; webhooks are posted to /webhooks/<endpoint>"
    assert requests.get(server.url("/health"), timeout=10).json() == {"status": "ok"}
    delivered = requests.post(server.url("/webhooks/stripe"), data=body, headers=headers, timeout=10)
    assert (delivered.status_code, delivered.json()) == (200, {"received": True, "duplicate": False})
    assert len(stored_rows(clean_db)) == 1


def test_metrics_add_up_every_worker(start_server: Callable[..., GunicornServer]) -> None:
    """Each scrape is answered by one worker; every one must show the events all workers stored."""
    server = start_server(WEBHOOK_WORKERS="2")
    for _ in range(20):
        assert server.deliver().status_code == 200
    line = 'webhook_events_total{endpoint="stripe",outcome="stored",provider="stripe"} 20.0'
    for _ in range(8):  # a new connection each time: the workers take turns accepting
        text = requests.get(server.url("/metrics"), headers={"Connection": "close"}, timeout=5).text
        assert line in text, text


def answers_and_end(request: bytes, port: int) -> tuple[bytes, str]:
    """Everything the server sends for ``request``, and how the connection ended: "eof" (it
    shut its side down), "reset", or "open" (nothing more within a second)."""
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=1) as client:
        client.sendall(request)
        try:
            while chunk := client.recv(65536):
                data += chunk
        except ConnectionResetError:
            return data, "reset"
        except TimeoutError:
            return data, "open"
    return data, "eof"


def test_a_content_length_of_thousands_of_digits_is_a_400_and_no_worker_dies(
    start_server: Callable[..., GunicornServer],
) -> None:
    """int() refuses a string of over 4,300 digits; once, that ended the worker reading the head."""
    server = start_server(WEBHOOK_WORKERS="1")
    workers = server.worker_pids()
    for length in (b"0" * 4301, b"0" * 5000 + b"2", b"9" * 5000):
        data, _ = answers_and_end(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n", server.port)
        assert data.startswith(b"HTTP/1.1 400 "), data
    assert requests.get(server.url("/health"), timeout=5).status_code == 200
    assert server.worker_pids() == workers
    assert "Exception in worker process" not in server.log()


@pytest.mark.parametrize(
    "scheme_headers",
    [
        {"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "off"},
        {"X-Forwarded-Proto": "http", "X-Forwarded-Protocol": "ssl"},
    ],
)
def test_contradicting_scheme_headers_from_a_trusted_proxy_are_a_400_and_nothing_is_stored(
    start_server: Callable[..., GunicornServer], clean_db: str, scheme_headers: dict[str, str]
) -> None:
    server = start_server()
    body, headers = signed_stripe_request(stripe_event(), STRIPE_SECRET)
    response = requests.post(
        server.url("/webhooks/stripe"), data=body, headers={**headers, **scheme_headers}, timeout=10
    )
    assert response.status_code == 400
    assert requests.get(server.url("/health"), headers=scheme_headers, timeout=5).status_code == 400
    assert stored_rows(clean_db) == []


def test_a_closing_answer_ends_with_the_servers_fin_even_with_bytes_left_unread(
    start_server: Callable[..., GunicornServer],
) -> None:
    """An HTTP/1.0 health check with more bytes behind it: the main loop answers and closes, and
    the client reads the whole answer and an end of stream, as gunicorn's threads give, not a reset."""
    server = start_server()
    for _ in range(10):
        data, end = answers_and_end(b"GET /health HTTP/1.0\r\n\r\n" + b"x" * 20000, server.port)
        assert data.startswith(b"HTTP/1.0 200 OK\r\n") and data.endswith(b"}\n"), data
        assert end == "eof"


def test_the_main_loops_answers_count_towards_max_requests(
    start_server: Callable[..., GunicornServer], clean_db: str
) -> None:
    """gunicorn's --max-requests restarts a worker after that many requests (a common guard
    against leaks); the deliveries and health checks the main loop answers count too."""
    server = start_server(WEBHOOK_WORKERS="1", GUNICORN_CMD_ARGS="--max-requests 5")
    since = server.log_offset()
    for _ in range(6):
        assert server.deliver().status_code == 200
    server.wait_ready_lines(1, since)
    assert "Autorestarting worker after current request." in server.log()
