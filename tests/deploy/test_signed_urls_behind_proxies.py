"""Twilio signs the URL it posts to, so the server must see that URL through the shipped nginx and
HAProxy: the scheme the sender used (TLS ends at the proxy, which says https in
X-Forwarded-Proto), the host with its port as the sender wrote it, the path and the query string.

Real proxies from the rendered shipped configs, with a certificate made here, on a port that is
not 443 (so a proxy that dropped the port, as nginx's ``$host`` does, would fail the signature);
the deliveries are signed by twilio-python itself.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import pytest
import requests
from twilio.request_validator import RequestValidator

from tests.harness.gunicorn import GunicornServer
from tests.harness.proxies import Certificate, RunningProxy, running_haproxy, running_nginx

PROXIES: list[Callable[..., AbstractContextManager[RunningProxy]]] = [running_nginx, running_haproxy]
TOKEN = "twilio-auth-token-behind-proxies"
FIELDS = {
    "MessageSid": "SM0123456789abcdef0123456789abcdef",
    "SmsStatus": "received",
    "AccountSid": "AC0123456789abcdef0123456789abcdef",
    "From": "+14155550100",
    "To": "+15005550006",
    "Body": "through the proxy ✓",
}
PATH = "/webhooks/sms?tenant=acme&next=%2Fhome"


@pytest.fixture
def instance(start_server: Callable[..., GunicornServer], tmp_path: Path) -> GunicornServer:
    endpoints = tmp_path / "endpoints.toml"
    endpoints.write_text('[endpoints.sms]\nscheme = "twilio"\nsecret_env = "SMS_AUTH_TOKEN"\n')
    return start_server(WEBHOOK_ENDPOINTS_FILE=str(endpoints), SMS_AUTH_TOKEN=TOKEN)


def signed_post(proxy: RunningProxy, signed_url: str, *, host: str | None = None) -> requests.Response:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(signed_url, FIELDS),
        "I-Twilio-Idempotency-Token": f"idem-{signed_url}-{host}",
    }
    if host is not None:
        headers["Host"] = host
    body = urlencode(FIELDS).encode()
    return requests.post(proxy.url(PATH), data=body, headers=headers, timeout=10, verify=proxy.verify)


@pytest.mark.parametrize("running_proxy", PROXIES, ids=["nginx", "haproxy"])
def test_a_twilio_delivery_over_https_verifies_behind_the_proxy(
    running_proxy: Callable[..., AbstractContextManager[RunningProxy]],
    instance: GunicornServer,
    certificate: Certificate,
    clean_db: str,
    tmp_path: Path,
) -> None:
    with running_proxy(tmp_path, [instance.port], certificate) as proxy:
        url = proxy.url(PATH)
        assert url.startswith(f"https://127.0.0.1:{proxy.port}/")
        accepted = signed_post(proxy, url)
        assert (accepted.status_code, accepted.json()) == (200, {"received": True, "duplicate": False}), proxy.log()

        # The name the sender used, with its port, reaches the app as sent.
        named = f"webhooks.test:{proxy.port}"
        assert signed_post(proxy, f"https://{named}{PATH}", host=named).status_code == 200, proxy.log()

        # Signed for plain http, another port, another host or another query: refused.
        for forged in (
            url.replace("https:", "http:"),
            url.replace(f":{proxy.port}/", f":{proxy.port + 1}/"),
            url.replace("127.0.0.1", "127.0.0.2"),
            url.replace("tenant=acme", "tenant=other"),
        ):
            refused = signed_post(proxy, forged)
            assert (refused.status_code, refused.json()["error"]) == (400, "signature_invalid"), forged
            assert url in refused.json()["message"]  # the URL the server checked, to compare with Twilio's

    with psycopg.connect(clean_db) as conn:
        stored = conn.execute("SELECT event_type, payload FROM webhook_events ORDER BY id").fetchall()
    assert stored == [("message.received", FIELDS)] * 2  # the form's fields, as handlers get them
