"""GitLab's webhooks as GitLab posts them (the Secret token in a header), for `send gitlab`."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from webhook_server.dev.signed import JSON, SignedSample

# X-Gitlab-Event by object_kind, the type the server stores.
EVENTS = {
    "push": "Push Hook",
    "merge_request": "Merge Request Hook",
    "issue": "Issue Hook",
    "pipeline": "Pipeline Hook",
}
DEFAULT_TYPE = "push"
CATALOGUE = EVENTS
PROJECT = {"id": 15, "name": "Diaspora", "path_with_namespace": "mike/diaspora", "default_branch": "main"}


def headers(token: str, *, event_uuid: str, object_kind: str) -> dict[str, str]:
    return {
        **JSON,
        "User-Agent": "GitLab/17.5.0",
        "X-Gitlab-Event": EVENTS.get(object_kind, "System Hook"),
        "X-Gitlab-Event-UUID": event_uuid,
        "X-Gitlab-Webhook-UUID": "2c0f3b48-30a7-4c7e-9d5c-7c2a8b1a9f00",
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "X-Gitlab-Token": token,
    }


def _body(kind: str) -> dict[str, Any]:
    if kind == "push":
        return {"ref": "refs/heads/main", "before": secrets.token_hex(20), "after": secrets.token_hex(20)}
    return {"object_attributes": {"iid": 1, "title": "Fix the bug", "state": "opened", "action": "open"}}


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    kind = event_type if event_type in EVENTS else DEFAULT_TYPE
    event_uuid = event_id or str(uuid.uuid4())
    body = json.dumps({"object_kind": kind, **_body(kind), "project": PROJECT}).encode()
    return SignedSample(event_uuid, kind, body, headers(secret, event_uuid=event_uuid, object_kind=kind))
