"""Jira Cloud's webhooks as Jira posts them (X-Hub-Signature with the webhook's secret), for `send jira`."""

from __future__ import annotations

import json
import secrets
import time

from webhook_server.dev.signed import JSON, SignedSample, hmac_digest

TYPES = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created")
DEFAULT_TYPE = "jira:issue_created"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None


def headers(body: bytes, secret: str, *, identifier: str) -> dict[str, str]:
    return {
        **JSON,
        "User-Agent": "Atlassian Webhook HTTP Client",
        "X-Atlassian-Webhook-Identifier": identifier,
        "X-Atlassian-Webhook-Retry": "0",
        "X-Hub-Signature": "sha256=" + hmac_digest(secret, body),
    }


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    identifier = event_id or str(secrets.randbelow(10**12))
    issue = {"id": "10002", "key": "WHS-7", "fields": {"summary": "Found a bug", "status": {"name": "To Do"}}}
    document = {"timestamp": int(time.time() * 1000), "webhookEvent": event_type, "issue": issue}
    body = json.dumps(document).encode()
    return SignedSample(identifier, event_type, body, headers(body, secret, identifier=identifier))
