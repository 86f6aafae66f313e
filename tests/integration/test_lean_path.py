"""The lean path (webhooks.LeanIngest): a whole, validly signed delivery is committed without Flask's
request machinery; every other request is Flask's, with the answer it always had."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask, request
from prometheus_client import REGISTRY

from tests.conftest import STRIPE_SECRET, stored_rows
from tests.signers import signed_stripe_request, stripe_event
from webhook_server.settings import Settings


@pytest.fixture
def app_and_flask_requests(make_app: Callable[[Settings], Flask], settings: Settings) -> tuple[Flask, list[str]]:
    """The shipped app, and the paths of the requests that reached Flask's dispatch."""
    app = make_app(settings)
    seen: list[str] = []

    @app.before_request
    def record() -> None:
        seen.append(request.path)

    return app, seen


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


ROUTES = ("/webhooks/<provider_name>", "/webhooks/<provider_name>/")


def test_a_valid_delivery_is_committed_without_flask(
    app_and_flask_requests: tuple[Flask, list[str]], clean_db: str
) -> None:
    app, flask_requests = app_and_flask_requests
    answered = {route: value("webhook_http_requests_total", route=route, status="200") for route in ROUTES}
    timed = value("webhook_ingest_duration_seconds_count", provider="stripe")
    event = stripe_event()
    body, headers = signed_stripe_request(event, STRIPE_SECRET)
    for path in ("/webhooks/stripe", "/webhooks/stripe/"):
        response = app.test_client().post(path, data=body, headers=headers)
        assert response.status_code == 200
        assert response.content_type == "application/json"
    assert response.get_json() == {"received": True, "duplicate": True}  # the second of the two
    assert flask_requests == []
    assert [row[1] for row in stored_rows(clean_db)] == [event["id"]]
    for route in ROUTES:  # counted as Flask's after_request counts them
        assert value("webhook_http_requests_total", route=route, status="200") == answered[route] + 1
    assert value("webhook_ingest_duration_seconds_count", provider="stripe") == timed + 2


def test_a_forged_delivery_goes_to_flask_and_is_refused_there(
    app_and_flask_requests: tuple[Flask, list[str]], clean_db: str
) -> None:
    app, flask_requests = app_and_flask_requests
    body, headers = signed_stripe_request(stripe_event(), "whsec_not_the_configured_one")
    response = app.test_client().post("/webhooks/stripe", data=body, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == "signature_invalid"
    assert flask_requests == ["/webhooks/stripe"]
    assert stored_rows(clean_db) == []


def test_an_unknown_provider_goes_to_flask(app_and_flask_requests: tuple[Flask, list[str]], clean_db: str) -> None:
    app, flask_requests = app_and_flask_requests
    body, headers = signed_stripe_request(stripe_event(), STRIPE_SECRET)
    response = app.test_client().post("/webhooks/nobody", data=body, headers=headers)
    assert response.status_code == 404
    assert flask_requests == ["/webhooks/nobody"]


def test_an_oversized_body_goes_to_flask_unread(
    app_and_flask_requests: tuple[Flask, list[str]], settings: Settings, clean_db: str
) -> None:
    app, flask_requests = app_and_flask_requests
    response = app.test_client().post("/webhooks/stripe", data=b"{" + b" " * settings.max_body_bytes + b"}")
    assert response.status_code == 413
    assert flask_requests == ["/webhooks/stripe"]
    assert stored_rows(clean_db) == []
