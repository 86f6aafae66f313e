"""TLS termination in the shipped nginx and HAProxy configs: real proxies with a certificate made
by openssl here, signed deliveries over HTTPS on loopback, TLS 1.2 and 1.3 only."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import requests

from tests.conftest import STRIPE_SECRET, stored_rows
from tests.harness.gunicorn import GunicornServer
from tests.harness.proxies import (
    SHIPPED_HAPROXY,
    SHIPPED_NGINX,
    Certificate,
    RunningProxy,
    check_haproxy,
    check_nginx,
    render_haproxy,
    render_nginx,
    running_haproxy,
    running_nginx,
)
from tests.signers import signed_stripe_request, stripe_event
from webhook_server.dev.localdb import free_port

PROXIES: list[Callable[..., AbstractContextManager[RunningProxy]]] = [running_nginx, running_haproxy]


@pytest.fixture
def instance(start_server: Callable[..., GunicornServer]) -> GunicornServer:
    return start_server()


def handshake(port: int, certificate: Certificate, version: ssl.TLSVersion) -> str:
    """The TLS version negotiated when the client offers only ``version``; raises ssl.SSLError if refused."""
    context = ssl.create_default_context(cafile=str(certificate.cert))
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer old versions: the server must refuse
    context.minimum_version = context.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return str(tls.version())


def test_the_shipped_configs_allow_tls_1_2_and_newer_only() -> None:
    """Checked in the text: this machine's OpenSSL refuses TLS 1.0 and 1.1 by itself, so a
    handshake alone would not notice a config that allowed them."""
    assert "    ssl_protocols TLSv1.2 TLSv1.3;\n" in SHIPPED_NGINX.read_text()
    assert "    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets\n" in SHIPPED_HAPROXY.read_text()


def test_the_rendered_tls_configs_pass_nginx_t_and_haproxy_c(tmp_path: Path, certificate: Certificate) -> None:
    nginx = check_nginx(render_nginx(tmp_path, free_port(), [free_port()], certificate))
    assert nginx.returncode == 0, nginx.stderr
    config, _ = render_haproxy(tmp_path, free_port(), [free_port()], certificate)
    haproxy = check_haproxy(config)
    assert haproxy.returncode == 0, haproxy.stdout + haproxy.stderr
    assert f"ssl crt {certificate.combined}" in config.read_text()


@pytest.mark.parametrize("running_proxy", PROXIES, ids=["nginx", "haproxy"])
def test_signed_deliveries_over_https_are_stored_and_old_tls_is_refused(
    running_proxy: Callable[..., AbstractContextManager[RunningProxy]],
    instance: GunicornServer,
    certificate: Certificate,
    clean_db: str,
    tmp_path: Path,
) -> None:
    event = stripe_event()
    body, headers = signed_stripe_request(event, STRIPE_SECRET)
    with running_proxy(tmp_path, [instance.port], certificate) as proxy:
        assert proxy.url("/").startswith("https://")
        response = requests.post(
            proxy.url("/webhooks/stripe"), data=body, headers=headers, timeout=10, verify=proxy.verify
        )
        assert (response.status_code, response.json()) == (200, {"received": True, "duplicate": False}), proxy.log()
        # Plain HTTP to the TLS port delivers nothing (nginx answers 400, HAProxy closes).
        try:
            plain = requests.post(
                f"http://127.0.0.1:{proxy.port}/webhooks/stripe", data=body, headers=headers, timeout=5
            )
        except requests.ConnectionError:
            plain = None
        assert plain is None or plain.status_code == 400
        assert handshake(proxy.port, certificate, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
        assert handshake(proxy.port, certificate, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
        with pytest.raises(ssl.SSLError):
            handshake(proxy.port, certificate, ssl.TLSVersion.TLSv1_1)
    assert [row[1] for row in stored_rows(clean_db)] == [event["id"]]
