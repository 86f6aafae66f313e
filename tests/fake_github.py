"""A small stand-in for GitHub's hook deliveries API, served on loopback for `reconcile github`.

It answers the way GitHub documents it (REST API 2022-11-28, "Webhooks: repository/organization
webhooks"): ``GET /repos/{owner}/{repo}/hooks/{id}/deliveries`` and the ``/orgs/{org}/…`` form
list deliveries newest first, ``per_page`` 1 to 100, a ``cursor`` pagination announced in a
``Link: <…>; rel="next"`` header; ``POST …/deliveries/{delivery_id}/attempts`` answers 202 and
redelivers: a new delivery with the same guid and ``"redelivery": true``, posted (when
``deliver_to`` is set) to the hook's URL signed with its secret, as GitHub does. A Bearer token is
checked on every request (401 "Bad credentials"), an unknown hook is a 404 "Not Found", and
queued rate limits answer 429 with ``Retry-After`` or 403 with ``X-RateLimit-Remaining: 0`` and
``X-RateLimit-Reset``, GitHub's two forms.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from tests import signers

TOKEN = "ghp_fake_hook_deliveries"
_DELIVERIES = re.compile(r"^/(repos/[^/]+/[^/]+|orgs/[^/]+)/hooks/(\d+)/deliveries$")
_ATTEMPTS = re.compile(r"^/(repos/[^/]+/[^/]+|orgs/[^/]+)/hooks/(\d+)/deliveries/(\d+)/attempts$")


@dataclass(frozen=True)
class RateLimit:
    """The answer the next request gets instead of its own: 429 + Retry-After, or 403 + a reset."""

    retry_after: int | None = None
    reset_in: int | None = None


@dataclass
class FakeGitHub:
    """One hook's deliveries (``hook`` is its path, e.g. ``repos/acme/shop/hooks/7``), newest last."""

    hook: str = "repos/acme/shop/hooks/7"
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    bodies: dict[str, bytes] = field(default_factory=dict)  # guid → the payload GitHub would send
    redeliveries: list[int] = field(default_factory=list)  # delivery ids asked for, in order
    requests: list[str] = field(default_factory=list)  # "GET /…?…" of every request
    rate_limits: list[RateLimit] = field(default_factory=list)
    deliver_to: tuple[str, str] | None = None  # (the hook's URL, its secret)
    url: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(100_000_001))

    def deliver(self, *, guid: str | None = None, ago: timedelta = timedelta(0), status_code: int = 502) -> str:
        """A delivery GitHub made ``ago`` (``status_code``: what the hook's URL answered); its guid."""
        guid = guid or str(uuid.uuid4())
        self.bodies.setdefault(guid, json.dumps({"action": "opened", "issue": {"number": len(self.bodies)}}).encode())
        self.deliveries.append(
            {
                "id": next(self._ids),
                "guid": guid,
                "delivered_at": (datetime.now(UTC) - ago).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "redelivery": guid in {d["guid"] for d in self.deliveries},
                "duration": 0.27,
                "status": "OK" if status_code < 300 else "Invalid HTTP Response: 502",
                "status_code": status_code,
                "event": "issues",
                "action": "opened",
                "installation_id": None,
                "repository_id": 1296269,
                "throttled_at": None,
            }
        )
        return guid

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self._respond(Request(environ))(environ, start_response)

    def _respond(self, request: Request) -> Response:
        self.requests.append(f"{request.method} {request.full_path.rstrip('?')}")
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        if self.rate_limits:
            return _rate_limited(self.rate_limits.pop(0))
        listing, attempt = _DELIVERIES.match(request.path), _ATTEMPTS.match(request.path)
        match = listing or attempt
        if match is None or f"{match[1]}/hooks/{match[2]}" != self.hook:
            return _json(404, {"message": "Not Found"})
        if listing and request.method == "GET":
            return self._page(request)
        if attempt and request.method == "POST":
            return self._redeliver(int(attempt[3]))
        return _json(404, {"message": "Not Found"})

    def _page(self, request: Request) -> Response:
        per_page = int(request.args.get("per_page", "30"))
        if not 1 <= per_page <= 100:
            return _json(422, {"message": "per_page must be between 1 and 100"})
        newest_first = sorted(self.deliveries, key=lambda d: d["id"], reverse=True)
        cursor = request.args.get("cursor")
        if cursor is not None:
            newest_first = [d for d in newest_first if d["id"] < int(cursor.removeprefix("v1_"))]
        page = newest_first[:per_page]
        response = _json(200, page)
        if len(newest_first) > per_page:
            next_url = f"{self.url}{request.path}?per_page={per_page}&cursor=v1_{page[-1]['id']}"
            response.headers["Link"] = f'<{next_url}>; rel="next"'
        return response

    def _redeliver(self, delivery_id: int) -> Response:
        original = next((d for d in self.deliveries if d["id"] == delivery_id), None)
        if original is None:
            return _json(404, {"message": "Not Found"})
        self.redeliveries.append(delivery_id)
        status_code = 502
        if self.deliver_to is not None:
            url, secret = self.deliver_to
            body = self.bodies[original["guid"]]
            headers = signers.github(body, secret, delivery=original["guid"], event=original["event"])
            status_code = requests.post(url, data=body, headers=headers, timeout=10).status_code
        self.deliver(guid=original["guid"], status_code=status_code)
        return _json(202, {})


def _rate_limited(limit: RateLimit) -> Response:
    message = {"message": "API rate limit exceeded", "documentation_url": "https://docs.github.com/rest"}
    if limit.retry_after is not None:
        response = _json(429, message)
        response.headers["Retry-After"] = str(limit.retry_after)
        return response
    response = _json(403, message)
    response.headers["X-RateLimit-Remaining"] = "0"
    response.headers["X-RateLimit-Reset"] = str(int(time.time()) + (limit.reset_in or 0))
    return response


def _json(status: int, document: Any) -> Response:
    return Response(json.dumps(document), status=status, content_type="application/json")
