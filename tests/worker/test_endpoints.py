"""Handlers see where an event came to: ``Event.endpoint`` and ``Event.headers``, from a real
gunicorn to a real worker; ``@handles(..., endpoint=)`` takes one endpoint's events only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import requests

from tests.harness.gunicorn import GunicornServer
from tests.signers import signed_stripe_request, stripe_event
from tests.worker.conftest import WorkerProcess, query, wait_for

ENDPOINTS = """
[endpoints.stripe-eu]
scheme = "stripe"
secret_env = "EU_SECRET"

[endpoints.stripe-us]
scheme = "stripe"
secret_env = "US_SECRET"
"""
SECRETS = {"stripe-eu": "whsec_eu_secret", "stripe-us": "whsec_us_secret"}


def test_handlers_get_the_endpoint_and_headers_and_may_narrow_to_one_endpoint(
    worker_db: str,
    start_server: Callable[..., GunicornServer],
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    with psycopg.connect(worker_db, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS endpoint_runs")
        conn.execute("CREATE TABLE endpoint_runs (handler text, event_id text, endpoint text, headers jsonb)")
    (tmp_path / "endpoints.toml").write_text(ENDPOINTS)
    server = start_server(
        WEBHOOK_ENDPOINTS_FILE=str(tmp_path / "endpoints.toml"),
        EU_SECRET=SECRETS["stripe-eu"],
        US_SECRET=SECRETS["stripe-us"],
        WEBHOOK_STORE_HEADERS="X-Request-Id",
    )
    start_worker(WEBHOOK_HANDLER_MODULES="tests.worker.endpoint_handlers")
    sent = {}
    for endpoint in ("stripe-eu", "stripe-us"):
        event = stripe_event("invoice.paid")
        body, headers = signed_stripe_request(event, SECRETS[endpoint])
        headers["X-Request-Id"] = f"req-{endpoint}"
        response = requests.post(server.url(f"/webhooks/{endpoint}"), data=body, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        sent[endpoint] = event["id"]

    def runs() -> list[tuple]:
        return query(worker_db, "SELECT handler, event_id, endpoint, headers FROM endpoint_runs ORDER BY endpoint")

    wait_for(lambda: len(runs()) == 2, 20, "both events handled")
    assert runs() == [
        ("eu_only", sent["stripe-eu"], "stripe-eu", {"x-request-id": "req-stripe-eu"}),
        ("every_account", sent["stripe-us"], "stripe-us", {"x-request-id": "req-stripe-us"}),
    ]
