"""Fixtures of the deploy tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.harness.proxies import Certificate


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1, made with openssl as an operator would."""
    directory = tmp_path / "tls"
    directory.mkdir()
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=webhooks.test",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    combined = directory / "combined.pem"
    combined.write_text(cert.read_text() + key.read_text())
    return Certificate(cert, key, combined)
