"""Named endpoints of any scheme and the headers stored with events, through a real gunicorn.

Two Stripe accounts and a Shopify app, each at its own /webhooks/<name> with its own secret:
every row records its endpoint and its scheme (the provider column), the headers that carry meaning are
stored, signatures never are, and one endpoint's secret does not open another's route.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import requests

from tests import signers
from tests.harness.gunicorn import GunicornServer
from tests.signers import signed_stripe_request, stripe_event

EU_SECRET = "whsec_eu_0123456789abcdef"
US_SECRET = "whsec_us_0123456789abcdef"
SHOPIFY_SECRET = "shpss_shops_0123456789"
ENDPOINTS = """
[endpoints.stripe-eu]
scheme = "stripe"
secret_env = "STRIPE_EU_WEBHOOK_SECRET"

[endpoints.stripe-us]
scheme = "stripe"
secret_env = "STRIPE_US_WEBHOOK_SECRET"

[endpoints.shops]
scheme = "shopify"
secret_env = "SHOPS_SECRET"
store_headers = ["X-Request-Id"]
"""


def rows(database_url: str) -> dict[str, tuple]:
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            "SELECT event_id, provider, endpoint, event_type, headers FROM webhook_events ORDER BY id"
        ).fetchall()
    return {event_id: tuple(rest) for event_id, *rest in found}


def start(start_server: Callable[..., GunicornServer], tmp_path: Path, **env: str) -> GunicornServer:
    path = tmp_path / "endpoints.toml"
    path.write_text(ENDPOINTS)
    (tmp_path / "us-secret").write_text(f"{US_SECRET}\n")
    return start_server(
        WEBHOOK_ENDPOINTS_FILE=str(path),
        STRIPE_EU_WEBHOOK_SECRET=EU_SECRET,
        STRIPE_US_WEBHOOK_SECRET_FILE=str(tmp_path / "us-secret"),  # a secret from a file works the same
        SHOPS_SECRET=SHOPIFY_SECRET,
        WEBHOOK_STORE_HEADERS="X-Forwarded-For",
        **env,
    )


def post_stripe(server: GunicornServer, endpoint: str, secret: str, event: dict) -> requests.Response:
    body, headers = signed_stripe_request(event, secret)
    headers |= {"X-Forwarded-For": "203.0.113.7", "Authorization": "Bearer leaked", "Cookie": "s=leaked"}
    return requests.post(server.url(f"/webhooks/{endpoint}"), data=body, headers=headers, timeout=10)


def test_two_stripe_accounts_each_at_its_endpoint_with_its_own_secret(
    start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    server = start(start_server, tmp_path)
    eu, us, builtin = stripe_event("invoice.paid"), stripe_event("invoice.paid"), stripe_event()
    assert post_stripe(server, "stripe-eu", EU_SECRET, eu).json() == {"received": True, "duplicate": False}
    assert post_stripe(server, "stripe-us", US_SECRET, us).status_code == 200
    assert server.deliver(builtin).status_code == 200  # STRIPE_WEBHOOK_SECRET's /webhooks/stripe, unchanged

    # The EU secret does not open the US endpoint, and the error names the variable to check.
    refused = post_stripe(server, "stripe-us", EU_SECRET, stripe_event())
    assert refused.status_code == 400
    assert refused.json()["error"] == "signature_invalid"
    assert "STRIPE_US_WEBHOOK_SECRET" in refused.json()["message"]

    stored = rows(clean_db)
    assert stored[eu["id"]][:3] == ("stripe", "stripe-eu", "invoice.paid")
    assert stored[us["id"]][:3] == ("stripe", "stripe-us", "invoice.paid")
    assert stored[builtin["id"]][:2] == ("stripe", "stripe")
    # WEBHOOK_STORE_HEADERS applies to every endpoint; credentials and signatures never stored.
    assert stored[eu["id"]][3] == {"x-forwarded-for": "203.0.113.7"}
    assert len(stored) == 3

    # The same event at the other account's endpoint is one event of one sender: a duplicate.
    assert post_stripe(server, "stripe-us", US_SECRET, eu).json()["duplicate"] is True
    assert rows(clean_db)[eu["id"]][1] == "stripe-eu"


def test_shopify_shop_and_version_are_stored_and_event_id_dedupes(
    start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    server = start(start_server, tmp_path)
    body = json.dumps({"id": 820982911946154508, "email": "jon@example.com", "total_price": "20.00"}).encode()
    event_id = str(uuid.uuid4())

    def deliver(webhook_id: str, shop: str = "north.myshopify.com") -> requests.Response:
        headers = signers.shopify(body, SHOPIFY_SECRET, webhook_id=webhook_id, event_id=event_id, shop=shop)
        headers |= {"X-Request-Id": "req-1"}
        return requests.post(server.url("/webhooks/shops"), data=body, headers=headers, timeout=10)

    first_webhook_id = str(uuid.uuid4())
    assert deliver(first_webhook_id).json()["duplicate"] is False
    # Another delivery of the same event (another subscription to the topic): a duplicate, by
    # X-Shopify-Event-Id as Shopify's "Ignore duplicate webhooks" page says.
    assert deliver(str(uuid.uuid4())).json()["duplicate"] is True

    scheme, endpoint, event_type, headers = rows(clean_db)[event_id]
    assert (scheme, endpoint, event_type) == ("shopify", "shops", "orders/create")
    assert headers == {
        "x-shopify-shop-domain": "north.myshopify.com",
        "x-shopify-api-version": "2025-10",
        "x-shopify-event-id": event_id,
        "x-shopify-webhook-id": first_webhook_id,
        "x-request-id": "req-1",  # the endpoint's store_headers
    }


def test_github_and_slack_headers_by_default(start_server: Callable[..., GunicornServer], clean_db: str) -> None:
    server = start_server(GITHUB_WEBHOOK_SECRET="gh-secret", SLACK_SIGNING_SECRET="slack-secret")
    body = json.dumps({"action": "opened", "installation": {"id": 7}}).encode()
    github = signers.github(body, "gh-secret", delivery="d-1", event="issues") | {
        "X-GitHub-Hook-ID": "292430182",
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": "79929171",
    }
    assert requests.post(server.url("/webhooks/github"), data=body, headers=github, timeout=10).status_code == 200
    slack_body = signers.slack_event("Ev1")
    slack = signers.slack(slack_body, "slack-secret") | {
        "X-Slack-Retry-Num": "1",
        "X-Slack-Retry-Reason": "http_timeout",
    }
    assert requests.post(server.url("/webhooks/slack"), data=slack_body, headers=slack, timeout=10).status_code == 200

    stored = rows(clean_db)
    assert stored["d-1"][3] == {
        "x-github-hook-id": "292430182",
        "x-github-hook-installation-target-type": "integration",
        "x-github-hook-installation-target-id": "79929171",
    }
    assert stored["Ev1"][3] == {"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"}
    assert all("signature" not in json.dumps(row[3]).lower() for row in stored.values())
