"""Sender signature schemes, one module each, and the endpoints this server has secrets for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from webhook_server.providers.base import Handshake, Provider, Rejected, VerifiedEvent
from webhook_server.providers.generic import GenericProvider
from webhook_server.providers.github import GitHubProvider
from webhook_server.providers.headers import DEFAULTS, StoredHeaders
from webhook_server.providers.shopify import ShopifyProvider
from webhook_server.providers.slack import SlackProvider
from webhook_server.providers.standard import StandardWebhooksProvider
from webhook_server.providers.stripe import StripeProvider

if TYPE_CHECKING:  # settings imports the endpoints file, which imports providers.signing
    from webhook_server.endpoints_file import EndpointSpec
    from webhook_server.settings import Settings

__all__ = ["Endpoint", "Handshake", "Provider", "Rejected", "VerifiedEvent", "configured"]

# The sender schemes by name, each built from its secrets and the variable that holds them.
BUILT_IN: dict[str, Callable[..., Provider]] = {
    "stripe": StripeProvider,
    "github": GitHubProvider,
    "shopify": ShopifyProvider,
    "slack": SlackProvider,
    "standard": StandardWebhooksProvider,
}


@dataclass(frozen=True)
class Endpoint:
    """One route, ``/webhooks/<name>``: the scheme that verifies it and what its events are stored as.

    ``provider`` is the ``provider`` column (the scheme, so ``@handles("stripe", …)`` covers every
    Stripe endpoint; a generic HMAC endpoint's own name); ``name`` is the ``endpoint`` column.
    """

    name: str
    provider: str
    verifier: Provider
    headers: StoredHeaders


def configured(settings: Settings) -> dict[str, Endpoint]:
    """The endpoints with a secret set, by route name: the built-in providers', then the file's."""
    endpoints = [
        Endpoint(name, name, BUILT_IN[name](secrets), StoredHeaders([*DEFAULTS[name], *settings.store_headers]))
        for name, secrets in settings.provider_secrets.items()
        if secrets
    ]
    endpoints += [_from_spec(spec, settings.store_headers) for spec in settings.endpoints]
    return {endpoint.name: endpoint for endpoint in endpoints}


def _from_spec(spec: EndpointSpec, extra_headers: tuple[str, ...]) -> Endpoint:
    if spec.scheme in BUILT_IN:
        verifier = BUILT_IN[spec.scheme](spec.secrets, variable=spec.secret_variable)
    else:
        verifier = GenericProvider(spec)
    names = [*DEFAULTS[spec.scheme], *extra_headers, *spec.store_headers]
    return Endpoint(spec.name, spec.provider, verifier, StoredHeaders(names, signature_header=spec.header))
