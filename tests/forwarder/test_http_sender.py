"""One HTTP attempt against real local servers: what is sent, what is kept, how long it may take."""

from __future__ import annotations

import resource
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.forwarder.destination_app import DestinationApp
from webhook_server.destinations_file import DestinationSpec
from webhook_server.forwarder.http_sender import RESPONSE_KEEP_BYTES, HttpSender, Message, retry_after, tls_context
from webhook_server.forwarder.messages import header_value, webhook_id

BODY = b'{"id":"evt_1","type":"invoice.paid"}'


def spec(url: str, secret: str, **settings: object) -> DestinationSpec:
    return DestinationSpec(name="app", url=url, secret_variable="X", secret=secret, **settings)  # type: ignore[arg-type]


def test_a_kept_alive_connection_serves_every_attempt_and_each_verifies(app: DestinationApp, secret: str) -> None:
    sender = HttpSender(spec(app.url("/ok?x=1"), secret), None)
    results = [sender.send(Message("stripe_evt_1", BODY, {"x-extra": "1"})) for _ in range(3)]
    assert all(r.delivered and r.status == 200 and r.response == b'{"ok":true}' for r in results)
    assert [r.verified for r in app.received] == [True] * 3
    assert app.received[0].body == BODY and app.received[0].headers["x-extra"] == "1"
    assert app.received[0].headers["content-type"] == "application/json"


def test_a_redirect_is_a_failure_and_is_not_followed(app: DestinationApp, secret: str) -> None:
    app.behave("/moved", statuses=[308], location=app.url("/elsewhere"))
    result = HttpSender(spec(app.url("/moved"), secret), None).send(Message("i", BODY, {}))
    assert not result.delivered and result.status == 308
    assert "redirect, not followed" in (result.error or "") and "/elsewhere" in (result.error or "")
    assert [r.path for r in app.received] == ["/moved"]


def test_a_100_mb_answer_is_cut_at_the_cap_and_its_connection_dropped(app: DestinationApp, secret: str) -> None:
    app.behave("/huge", huge=100 * 1024 * 1024)
    sender = HttpSender(spec(app.url("/huge"), secret), None)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    result = sender.send(Message("i", BODY, {}))
    assert result.delivered and len(result.response) == RESPONSE_KEEP_BYTES
    assert time.monotonic() - started < 5, "the rest was not downloaded"
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50 * 1024, f"peak memory grew {grown_kib} KiB"
    app.behave("/huge", statuses=[200])
    assert sender.send(Message("i", BODY, {})).delivered, "a new connection after the dropped one"


def test_a_server_that_hangs_costs_the_timeout_and_no_more(app: DestinationApp, secret: str) -> None:
    app.behave("/hang", hang=30)
    started = time.monotonic()
    result = HttpSender(spec(app.url("/hang"), secret, timeout=1.0, connect_timeout=0.5), None).send(
        Message("i", BODY, {})
    )
    elapsed = time.monotonic() - started
    assert not result.delivered and (result.error or "").startswith("timed out after")
    assert 0.9 <= elapsed < 3.0


def test_a_trickling_server_is_cut_at_the_deadline_by_abort(secret: str) -> None:
    """A server that sends a byte every 0.3 s never trips a socket timeout; the dispatcher's abort does."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.wait(0.3):
            try:
                conn.sendall(b"X-Slow: a\r\n")
            except OSError:
                break
        conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    sender = HttpSender(spec(f"http://127.0.0.1:{listener.getsockname()[1]}/", secret, timeout=1.0), None)
    threading.Timer(1.2, sender.abort).start()
    started = time.monotonic()
    result = sender.send(Message("i", BODY, {}))
    stop.set()
    listener.close()
    assert not result.delivered and (result.error or "").startswith("timed out")
    assert time.monotonic() - started < 3.0


def test_a_refused_connection_fails_at_once(secret: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    result = HttpSender(spec(f"http://127.0.0.1:{port}/", secret), None).send(Message("i", BODY, {}))
    assert not result.delivered and result.error == f"connection refused by 127.0.0.1:{port}"
    assert time.monotonic() - started < 1.0


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A CA of the test's own and a certificate it signed for 127.0.0.1."""
    ca_key, ca, key, csr, cert = (tmp_path / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ext = tmp_path / "ext.cnf"
    ext.write_text("subjectAltName = IP:127.0.0.1\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
        "-days",
        "1",
        "-subj",
        "/CN=test CA",
    )
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(cert),
        "-days",
        "1",
        "-extfile",
        str(ext),
    )
    return ca, cert, key


def test_tls_is_verified_and_a_custom_ca_is_taken(
    app: DestinationApp, secret: str, tls_files: tuple[Path, Path, Path]
) -> None:
    ca, cert, key = tls_files
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    app.server.socket = server_context.wrap_socket(app.server.socket, server_side=True)
    url = f"https://127.0.0.1:{app.port}/tls"

    untrusted = spec(url, secret)
    result = HttpSender(untrusted, tls_context(untrusted)).send(Message("i", BODY, {}))
    assert not result.delivered and "TLS certificate not trusted" in (result.error or "")
    assert "set ca_file" in (result.error or "")

    trusted = spec(url, secret, ca_file=str(ca))
    result = HttpSender(trusted, tls_context(trusted)).send(Message("i", BODY, {}))
    assert result.delivered, result.error
    assert app.at("/tls")[0].verified


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2", 2.0),
        ("0", 0.0),
        ("9" * 5000, None),
        ("-1", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("\x00", None),
        (None, None),
    ],
)
def test_retry_after(value: str | None, expected: float | None) -> None:
    assert retry_after(value) == expected


def test_webhook_ids_are_stable_and_header_safe() -> None:
    assert webhook_id("stripe", "evt_1") == "stripe_evt_1"
    odd = webhook_id("acme", "a\r\nInjected: 1 \ud800")
    assert odd.startswith("acme_sha256_") and odd == webhook_id("acme", "a\r\nInjected: 1 \ud800")
    assert header_value("invoice.paid") == "invoice.paid"
    assert header_value("a\r\nInjected: 1") == "a%0D%0AInjected%3A%201"
    assert header_value("\x1b[31m\ud800").isascii()
