"""The endpoints this server answers: each route's verifier (its scheme's) and what its events are
stored as, built from the settings: the built-in schemes' routes with a secret set, then the
named endpoints of WEBHOOK_ENDPOINTS_FILE."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from webhook_server.endpoints_file import EndpointSpec
from webhook_server.schemes.adyen import AdyenVerifier
from webhook_server.schemes.atlassian import BitbucketVerifier, JiraVerifier
from webhook_server.schemes.base import Verifier
from webhook_server.schemes.calendly import CalendlyVerifier
from webhook_server.schemes.dedupe import EndpointDedupeKey
from webhook_server.schemes.discord import DiscordVerifier
from webhook_server.schemes.generic import GenericVerifier
from webhook_server.schemes.github import GitHubVerifier
from webhook_server.schemes.gitlab import GitLabVerifier
from webhook_server.schemes.headers import DEFAULTS, StoredHeaders
from webhook_server.schemes.hubspot import HubSpotVerifier
from webhook_server.schemes.intercom import IntercomVerifier
from webhook_server.schemes.linear import LinearVerifier
from webhook_server.schemes.mailgun import MailgunVerifier
from webhook_server.schemes.paddle import PaddleVerifier
from webhook_server.schemes.sendgrid import SendGridVerifier
from webhook_server.schemes.shopify import ShopifyVerifier
from webhook_server.schemes.slack import SlackVerifier
from webhook_server.schemes.square import SquareVerifier
from webhook_server.schemes.standard import ClerkVerifier, ResendVerifier, StandardWebhooksVerifier
from webhook_server.schemes.stripe import StripeVerifier
from webhook_server.schemes.twilio import TwilioVerifier
from webhook_server.schemes.twitch import TwitchVerifier
from webhook_server.schemes.typeform import TypeformVerifier
from webhook_server.schemes.woocommerce import WooCommerceVerifier
from webhook_server.schemes.zendesk import ZendeskVerifier
from webhook_server.schemes.zoom import ZoomVerifier
from webhook_server.settings import Settings

# The sender schemes by name, each built from its secrets and the variable that holds them.
BUILT_IN: dict[str, Callable[..., Verifier]] = {
    "stripe": StripeVerifier,
    "github": GitHubVerifier,
    "shopify": ShopifyVerifier,
    "slack": SlackVerifier,
    "standard": StandardWebhooksVerifier,
}
# Every scheme an endpoint of WEBHOOK_ENDPOINTS_FILE can name, but the generic "hmac".
SCHEMES: dict[str, Callable[..., Verifier]] = {
    **BUILT_IN,
    "twilio": TwilioVerifier,
    "discord": DiscordVerifier,
    "sendgrid": SendGridVerifier,
    "clerk": ClerkVerifier,
    "resend": ResendVerifier,
    "hubspot": HubSpotVerifier,
    "adyen": AdyenVerifier,
    "square": SquareVerifier,
    "paddle": PaddleVerifier,
    "zoom": ZoomVerifier,
    "twitch": TwitchVerifier,
    "gitlab": GitLabVerifier,
    "mailgun": MailgunVerifier,
    "bitbucket": BitbucketVerifier,
    "jira": JiraVerifier,
    "intercom": IntercomVerifier,
    "linear": LinearVerifier,
    "typeform": TypeformVerifier,
    "woocommerce": WooCommerceVerifier,
    "calendly": CalendlyVerifier,
    "zendesk": ZendeskVerifier,
}


@dataclass(frozen=True)
class Endpoint:
    """One route, ``/webhooks/<name>``: the scheme that verifies it and what its events are stored as.

    ``scheme`` goes in the ``provider`` column (the scheme, so ``@handles("stripe", …)`` covers every
    Stripe endpoint; a generic HMAC endpoint's own name); ``name`` is the ``endpoint`` column.
    """

    name: str
    scheme: str
    verifier: Verifier
    headers: StoredHeaders


def configured(settings: Settings) -> dict[str, Endpoint]:
    """The endpoints with a secret set, by route name: the built-in endpoints', then the file's."""
    endpoints = [
        Endpoint(name, name, BUILT_IN[name](secrets), StoredHeaders([*DEFAULTS[name], *settings.store_headers]))
        for name, secrets in settings.builtin_secrets.items()
        if secrets
    ]
    endpoints += [_from_spec(spec, settings.store_headers) for spec in settings.endpoints]
    return {endpoint.name: endpoint for endpoint in endpoints}


def _from_spec(spec: EndpointSpec, extra_headers: tuple[str, ...]) -> Endpoint:
    if spec.scheme in SCHEMES:
        window = {} if spec.tolerance is None else {"tolerance": spec.tolerance}
        verifier = SCHEMES[spec.scheme](spec.secrets, variable=spec.secret_variable, **window)
        if spec.event_id:
            verifier = EndpointDedupeKey(verifier, spec.event_id)
    else:
        verifier = GenericVerifier(spec)
    names = [*DEFAULTS[spec.scheme], *extra_headers, *spec.store_headers]
    return Endpoint(spec.name, spec.stored_scheme, verifier, StoredHeaders(names, signature_header=spec.header))
