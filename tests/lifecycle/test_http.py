"""What a sender sees over real HTTP from the shipped gunicorn configuration."""

from __future__ import annotations

import socket
from collections.abc import Callable

import requests

from tests.conftest import STRIPE_SECRET, stored_rows
from tests.signers import signed_stripe_request, stripe_event
from webhook_server.harness.gunicorn import GunicornServer, read_response

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
    line = 'webhook_events_total{outcome="stored",provider="stripe"} 20.0'
    for _ in range(8):  # a new connection each time: the workers take turns accepting
        text = requests.get(server.url("/metrics"), headers={"Connection": "close"}, timeout=5).text
        assert line in text, text
