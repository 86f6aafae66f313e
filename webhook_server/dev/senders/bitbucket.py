"""Bitbucket Cloud's webhooks as Bitbucket posts them ("Manage webhooks": X-Hub-Signature), for `send bitbucket`."""

from __future__ import annotations

import json
import secrets
import uuid

from webhook_server.dev.signed import JSON, SignedSample, hmac_digest

TYPES = ("repo:push", "pullrequest:created", "pullrequest:fulfilled", "issue:created")
DEFAULT_TYPE = "repo:push"
CATALOGUE = {kind: kind for kind in TYPES}  # values: has_sample reads a missing one as None
REPOSITORY = {"type": "repository", "full_name": "team/project", "uuid": "{7a9f3e0c-0bd4-4f36-9c2b-9bd4a7c3b2f1}"}


def headers(body: bytes, secret: str, *, request_id: str, event_key: str) -> dict[str, str]:
    return {
        **JSON,
        "User-Agent": "Bitbucket-Webhooks/2.0",
        "X-Request-UUID": request_id,
        "X-Event-Key": event_key,
        "X-Hook-UUID": "c3d1a8a4-6f0e-4e58-9a0b-2f6f0b1e2d3c",
        "X-Hub-Signature": "sha256=" + hmac_digest(secret, body),
    }


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    request_id = event_id or str(uuid.uuid4())
    change = {"new": {"type": "branch", "name": "main", "target": {"hash": secrets.token_hex(20)}}}
    document = {"actor": {"display_name": "Mona"}, "repository": REPOSITORY, "push": {"changes": [change]}}
    body = json.dumps(document).encode()
    return SignedSample(
        request_id, event_type, body, headers(body, secret, request_id=request_id, event_key=event_type)
    )
