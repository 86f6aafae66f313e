"""Sender signature schemes, one module each, and the ones this server has secrets for."""

from __future__ import annotations

from webhook_server.providers.base import Provider, Rejected, VerifiedEvent
from webhook_server.providers.stripe import StripeProvider
from webhook_server.settings import Settings

__all__ = ["Provider", "Rejected", "VerifiedEvent", "configured"]


def configured(settings: Settings) -> dict[str, Provider]:
    """The providers with a secret set, by the name used in their route and the ``provider`` column."""
    providers: list[Provider] = []
    if settings.stripe_secrets:
        providers.append(StripeProvider(settings.stripe_secrets))
    return {provider.name: provider for provider in providers}
