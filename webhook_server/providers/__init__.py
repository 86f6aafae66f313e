"""Sender signature schemes, one module each, and the ones this server has secrets for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from webhook_server.providers.base import Handshake, Provider, Rejected, VerifiedEvent
from webhook_server.providers.generic import GenericProvider
from webhook_server.providers.github import GitHubProvider
from webhook_server.providers.shopify import ShopifyProvider
from webhook_server.providers.slack import SlackProvider
from webhook_server.providers.standard import StandardWebhooksProvider
from webhook_server.providers.stripe import StripeProvider

if TYPE_CHECKING:  # settings imports the endpoints file, which imports providers.signing
    from webhook_server.settings import Settings

__all__ = ["Handshake", "Provider", "Rejected", "VerifiedEvent", "configured"]

BUILT_IN = {
    "stripe": StripeProvider,
    "github": GitHubProvider,
    "shopify": ShopifyProvider,
    "slack": SlackProvider,
    "standard": StandardWebhooksProvider,
}


def configured(settings: Settings) -> dict[str, Provider]:
    """The providers with a secret set, by the name used in their route and the ``provider`` column."""
    providers: list[Provider] = [
        BUILT_IN[name](secrets) for name, secrets in settings.provider_secrets.items() if secrets
    ]
    providers += [GenericProvider(spec) for spec in settings.endpoints]
    return {provider.name: provider for provider in providers}
