"""Bitbucket Cloud and Jira Cloud: ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>``,
keyed with the webhook's secret; no timestamp.

Bitbucket: the id is ``X-Request-UUID`` (kept when a delivery is retried or resent), the type
``X-Event-Key`` (``repo:push``). Jira: the id ``X-Atlassian-Webhook-Identifier`` (the same for
every retry of one event), the type the body's ``webhookEvent`` (``jira:issue_created``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webhook_server.schemes.base import required_identifier
from webhook_server.schemes.body_hmac import BodyHmacVerifier, Signature
from webhook_server.schemes.signing import identifier_header

HUB_SIGNATURE = Signature("X-Hub-Signature", prefix="sha256=")


class BitbucketVerifier(BodyHmacVerifier):
    name = "bitbucket"
    variable = "BITBUCKET_WEBHOOK_SECRET"
    signature = HUB_SIGNATURE

    def identify(self, document: dict[str, Any], headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
        return identifier_header(headers, "X-Request-UUID"), identifier_header(headers, "X-Event-Key")


class JiraVerifier(BodyHmacVerifier):
    name = "jira"
    variable = "JIRA_WEBHOOK_SECRET"
    signature = HUB_SIGNATURE

    def identify(self, document: dict[str, Any], headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
        event_id = identifier_header(headers, "X-Atlassian-Webhook-Identifier")
        return event_id, required_identifier(document, "webhookEvent")
