"""Which request headers are stored with an event: the ``headers`` column, ``Event.headers``.

Each scheme has a default set, the headers that say something the body does not (which shop
an order belongs to, which hook or installation a GitHub delivery came from, a Slack retry);
``WEBHOOK_STORE_HEADERS`` and an endpoint's ``store_headers`` add more. Credentials are never
stored, whatever is asked: signatures, ``Authorization``, cookies, tokens. Names are stored
lowercased (as HTTP/2 sends them), so a handler reads ``event.headers["x-shopify-shop-domain"]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from webhook_server.errors import ConfigError

STORE_VARIABLE = "WEBHOOK_STORE_HEADERS"
DEFAULTS: dict[str, tuple[str, ...]] = {
    "stripe": (),
    "github": (
        "X-GitHub-Hook-ID",
        "X-GitHub-Hook-Installation-Target-Type",
        "X-GitHub-Hook-Installation-Target-ID",
        "X-GitHub-Enterprise-Host",
        "X-GitHub-Enterprise-Version",
    ),
    "shopify": (
        "X-Shopify-Shop-Domain",
        "X-Shopify-API-Version",
        "X-Shopify-Event-Id",
        "X-Shopify-Webhook-Id",
        "X-Shopify-Triggered-At",
    ),
    "slack": ("X-Slack-Retry-Num", "X-Slack-Retry-Reason"),
    "standard": (),
    # The region that sent the webhook (I-Twilio-Idempotency-Token, the event id, has "token"
    # in its name, so it is never stored as a header).
    "twilio": ("X-Home-Region",),
    "discord": (),
    "sendgrid": (),
    "clerk": (),
    "resend": (),
    "hubspot": (),
    "adyen": (),
    "square": (),
    "paddle": (),
    "zoom": (),
    "mailgun": (),
    "bitbucket": ("X-Hook-UUID",),
    "jira": ("X-Atlassian-Webhook-Retry",),
    "intercom": (),
    "linear": ("Linear-Event",),
    "typeform": (),
    "woocommerce": ("X-WC-Webhook-Source", "X-WC-Webhook-ID"),
    "calendly": (),
    "zendesk": ("X-Zendesk-Webhook-Id",),
    # Which retry this is, and the subscription's version.
    "twitch": ("Twitch-Eventsub-Message-Retry", "Twitch-Eventsub-Subscription-Version"),
    # Which GitLab instance and which of its webhooks sent it.
    "gitlab": ("X-Gitlab-Instance", "X-Gitlab-Webhook-UUID", "X-Gitlab-Event"),
    "hmac": (),
}
# Header names that carry credentials or signatures: a stored copy would be a secret in the table.
_CREDENTIAL = re.compile(r"signature|hmac|authorization|cookie|secret|token|api-key|password", re.IGNORECASE)


def is_credential(name: str) -> bool:
    return bool(_CREDENTIAL.search(name))


def refuse_credentials(names: Iterable[str], where: str) -> None:
    """Stop the start when a configured name is a credential header (it would never be stored)."""
    for name in names:
        if is_credential(name):
            raise ConfigError(where, f"{name} carries a credential or signature and is never stored; remove it")


class StoredHeaders:
    """The headers one endpoint stores: its scheme's, the configured extras, never a credential."""

    def __init__(self, names: Iterable[str], *, signature_header: str = "") -> None:
        wanted = dict.fromkeys(name.lower() for name in names)
        self.names = tuple(n for n in wanted if not is_credential(n) and n != signature_header.lower())

    def pick(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The stored headers present in the request (``headers`` looks names up case-insensitively)."""
        found = {name: headers.get(name) for name in self.names}
        return {name: value for name, value in found.items() if value is not None}
