"""/metrics counts what the request path did, and never shows a secret."""

from __future__ import annotations

import time

from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from tests.conftest import STRIPE_SECRET
from tests.signers import signed_stripe_request, stripe_event
from webhook_server.web.drain import DRAINING


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def deliver(client: FlaskClient, event: dict, secret: str = STRIPE_SECRET, **kwargs) -> int:
    body, headers = signed_stripe_request(event, secret, **kwargs)
    return client.post("/webhooks/stripe", data=body, headers=headers).status_code


def test_stored_duplicate_and_refused_deliveries_are_counted(client: FlaskClient) -> None:
    # Per-endpoint series also carry the endpoint as ``provider``, the label's old name, until 0.2.0.
    names = {
        "stored": ("webhook_events_total", {"endpoint": "stripe", "provider": "stripe", "outcome": "stored"}),
        "duplicate": ("webhook_events_total", {"endpoint": "stripe", "provider": "stripe", "outcome": "duplicate"}),
        "forged": (
            "webhook_rejections_total",
            {"endpoint": "stripe", "provider": "stripe", "reason": "signature_invalid"},
        ),
        "stale": (
            "webhook_rejections_total",
            {"endpoint": "stripe", "provider": "stripe", "reason": "signature_expired"},
        ),
        "ok": ("webhook_http_requests_total", {"route": "/webhooks/<endpoint_name>", "status": "200"}),
        "timed": ("webhook_ingest_duration_seconds_count", {"endpoint": "stripe", "provider": "stripe"}),
    }
    before = {key: value(name, **labels) for key, (name, labels) in names.items()}
    event = stripe_event()
    assert deliver(client, event) == 200
    assert deliver(client, event) == 200
    assert deliver(client, stripe_event(), "whsec_forged") == 400
    assert deliver(client, stripe_event(), timestamp=int(time.time()) - 600) == 400
    after = {key: value(name, **labels) for key, (name, labels) in names.items()}
    assert {key: after[key] - before[key] for key in names} == {
        "stored": 1,
        "duplicate": 1,
        "forged": 1,
        "stale": 1,
        "ok": 2,
        "timed": 4,
    }


def test_metrics_are_prometheus_text_with_the_draining_gauge_and_no_secret(client: FlaskClient) -> None:
    deliver(client, stripe_event())
    response = client.get("/metrics")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    assert "webhook_draining 0.0" in text
    assert STRIPE_SECRET not in text
    DRAINING.set()
    try:
        assert "webhook_draining 1.0" in client.get("/metrics").get_data(as_text=True)
    finally:
        DRAINING.clear()
