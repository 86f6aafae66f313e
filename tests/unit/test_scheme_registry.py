"""Every scheme an endpoint can name has a verifier, default stored headers and a `send` sample:
the lists live in several modules (to keep the import layers), so they are checked here."""

from __future__ import annotations

from webhook_server import endpoints, endpoints_file
from webhook_server.dev import samples
from webhook_server.schemes.headers import DEFAULTS


def test_every_scheme_of_the_endpoints_file_has_a_verifier_headers_and_a_sample() -> None:
    named = set(endpoints_file.SCHEMES) - {endpoints_file.HMAC}
    assert set(endpoints.SCHEMES) == named
    assert set(DEFAULTS) == set(endpoints_file.SCHEMES)
    assert set(samples.SENDERS) == set(endpoints_file.FILE_SCHEMES)
    assert set(samples.DEFAULT_TYPES) == named
    for scheme in named:
        assert samples.has_sample(scheme, samples.DEFAULT_TYPES[scheme]), scheme
        assert endpoints.SCHEMES[scheme].name == scheme  # the verifier's name is the stored provider
