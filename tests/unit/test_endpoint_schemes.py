"""WEBHOOK_ENDPOINTS_FILE endpoints of a sender's own scheme, and which headers each stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from werkzeug.datastructures import Headers

from tests.signers import signed_stripe_request, stripe_event
from webhook_server.endpoints import configured
from webhook_server.errors import ConfigError
from webhook_server.schemes import Rejected
from webhook_server.settings import Settings

FILE = """
[endpoints.stripe-eu]
scheme = "stripe"
secret_env = "EU_SECRET"
api_key_env = "EU_API_KEY"

[endpoints.acme]
secret_env = "ACME_SECRET"
header = "X-Acme-Token-Sig"
store_headers = ["X-Acme-Delivery"]
"""


def settings_of(tmp_path: Path, text: str = FILE, **environ: str) -> Settings:
    path = tmp_path / "endpoints.toml"
    path.write_text(text)
    env = {"DATABASE_URL": "postgresql://db/x", "WEBHOOK_ENDPOINTS_FILE": str(path)}
    return Settings.from_env(env | {"EU_SECRET": "whsec_eu", "ACME_SECRET": "acme"} | environ)


def test_a_stripe_endpoint_verifies_with_its_own_secret_and_stores_as_stripe(tmp_path: Path) -> None:
    endpoints = configured(settings_of(tmp_path))
    eu = endpoints["stripe-eu"]
    assert (eu.name, eu.scheme) == ("stripe-eu", "stripe")
    assert endpoints["acme"].scheme == "acme"  # a generic endpoint stays a sender of its own
    event = stripe_event("invoice.paid")
    body, headers = signed_stripe_request(event, "whsec_eu")
    assert eu.verifier.verify(body, Headers(headers)).event_id == event["id"]
    body, headers = signed_stripe_request(event, "whsec_other")
    with pytest.raises(Rejected, match="check EU_SECRET"):
        eu.verifier.verify(body, Headers(headers))


def test_the_stripe_secret_check_names_the_endpoints_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_of(tmp_path, EU_SECRET="sk_live_oops")
    assert caught.value.variable == "EU_SECRET"
    assert "sk_live" not in str(caught.value)


@pytest.mark.parametrize(
    ("table", "complaint"),
    [
        ('scheme = "paypal"\nsecret_env = "S"', "unknown scheme 'paypal'"),
        ('scheme = "github"\nsecret_env = "S"\nheader = "X-Sig"', "unknown setting header for scheme 'github'"),
        ('scheme = "slack"\nsecret_env = "S"\napi_key_env = "K"', "unknown setting api_key_env"),
        ('scheme = "github"\nsecret_env = "S"\nstore_headers = ["X-Hub-Signature"]', "never stored"),
        ('scheme = "github"\nsecret_env = "S"\nstore_headers = "X-One"', "must be a list"),
    ],
)
def test_settings_that_do_not_fit_the_scheme_stop_the_start(tmp_path: Path, table: str, complaint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_of(tmp_path, f"[endpoints.one]\n{table}\n", S="s")
    assert complaint in str(caught.value)


def test_stored_headers_are_the_schemes_and_the_configured_never_a_credential(tmp_path: Path) -> None:
    endpoints = configured(settings_of(tmp_path, SHOPIFY_WEBHOOK_SECRET="shp", WEBHOOK_STORE_HEADERS="X-Trace"))
    request = Headers(
        {
            "X-Shopify-Shop-Domain": "north.myshopify.com",
            "X-Shopify-Hmac-Sha256": "c2ln",
            "X-Acme-Token-Sig": "sig",
            "X-Acme-Delivery": "d-1",
            "Authorization": "Bearer x",
            "Cookie": "a=b",
            "x-trace": "t-1",
        }
    )
    assert endpoints["shopify"].headers.pick(request) == {
        "x-shopify-shop-domain": "north.myshopify.com",
        "x-trace": "t-1",
    }
    assert endpoints["acme"].headers.pick(request) == {"x-acme-delivery": "d-1", "x-trace": "t-1"}


@pytest.mark.parametrize("name", ["Authorization", "X-Hub-Signature-256", "Cookie", "X-Shopify-Hmac-Sha256"])
def test_webhook_store_headers_refuses_credential_headers(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_of(tmp_path, WEBHOOK_STORE_HEADERS=f"X-Trace, {name}")
    assert caught.value.variable == "WEBHOOK_STORE_HEADERS"
    assert f"{name} carries a credential" in str(caught.value)
