"""Ask GitHub to redeliver what the webhooks missed: a hook's recent deliveries against the inbox.

GitHub does not retry a failed delivery; it keeps each hook's deliveries for 3 days and redelivers
one when asked. Every delivery of one event shares its guid (``X-GitHub-Delivery``, the event id
stored here), redeliveries included. So: list the hook's deliveries since a moment (newest
first, following ``Link: rel="next"``), group them by guid, and for each guid with no stored
``github`` event ask for ONE redelivery, of its newest delivery. A guid already stored is never
redelivered: the stored set is read again just before the requests, so a delivery that arrived
meanwhile is not asked for twice. The redelivered event arrives as a webhook like any other.

Rate limits (403 or 429 with ``Retry-After``, or ``X-RateLimit-Remaining: 0`` with
``X-RateLimit-Reset``) are waited out when the wait fits in ``max_wait``, else reported with
the moment to run again, along with what was done so far.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
import requests

from webhook_server.operator import queries

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.github.com"
# GitHub keeps a hook's deliveries for 3 days; a redelivery can only be asked for within them.
GITHUB_RETENTION = timedelta(days=3)
PAGE_SIZE = 100
HTTP_TIMEOUT_SECONDS = 30
# The longest rate-limit wait taken in stride; a longer one is reported instead.
DEFAULT_MAX_WAIT_SECONDS = 60.0
API_VERSION = "2022-11-28"
SCHEME = "github"


class GitHubError(Exception):
    """GitHub refused or failed a request; the message says what to do."""


class RateLimited(GitHubError):
    """A rate limit whose wait exceeds the bound; ``retry_at`` is when to run again (epoch seconds)."""

    def __init__(self, message: str, retry_at: float) -> None:
        super().__init__(message)
        self.retry_at = retry_at


@dataclass(frozen=True)
class Hook:
    """Which hook: a repository's (``owner/name``) or an organization's, and its id."""

    hook_id: int
    repo: str | None = None
    org: str | None = None

    def path(self) -> str:
        owner = f"repos/{self.repo}" if self.repo else f"orgs/{self.org}"
        return f"/{owner}/hooks/{self.hook_id}"


@dataclass
class GitHubReconcileResult:
    found: int = 0  # distinct guids delivered since the moment asked
    missing: list[str] = field(default_factory=list)  # guids with no stored event
    requested: list[str] = field(default_factory=list)  # guids whose redelivery GitHub accepted
    error: str | None = None  # why it stopped early, if it did

    def as_dict(self) -> dict[str, Any]:
        return {
            "found": self.found,
            "missing": len(self.missing),
            "requested": len(self.requested),
            "missing_guids": self.missing,
            "error": self.error,
        }


class GitHubClient:
    """The two REST calls reconcile needs, with the token and GitHub's headers on each."""

    def __init__(
        self,
        token: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        max_wait: float = DEFAULT_MAX_WAIT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.max_wait = max_wait
        self._sleep = sleep
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "webhook-server-reconcile",
            }
        )

    def delivery_pages(self, hook: Hook) -> Iterator[list[dict[str, Any]]]:
        """Each page of the hook's deliveries, newest first, until GitHub has no next page."""
        url: str | None = f"{self.api_base}{hook.path()}/deliveries?per_page={PAGE_SIZE}"
        while url is not None:
            response = self._request("GET", url)
            page = response.json()
            if not isinstance(page, list):
                raise GitHubError(f"GitHub listed something other than deliveries: {page!r:.200}")
            yield page
            url = response.links.get("next", {}).get("url")

    def redeliver(self, hook: Hook, delivery_id: int) -> None:
        """Ask for one redelivery of ``delivery_id`` (GitHub answers 202 and delivers it later)."""
        self._request("POST", f"{self.api_base}{hook.path()}/deliveries/{delivery_id}/attempts")

    def close(self) -> None:
        self._session.close()

    def _request(self, method: str, url: str) -> requests.Response:
        while True:
            try:
                response = self._session.request(method, url, timeout=HTTP_TIMEOUT_SECONDS)
            except requests.RequestException as exc:
                raise GitHubError(f"cannot reach GitHub's API at {self.api_base}: {exc}") from None
            wait = _rate_limit_wait(response)
            if wait is None:
                break
            if wait > self.max_wait:
                retry_at = time.time() + wait
                raise RateLimited(
                    f"GitHub's rate limit: the next request is allowed in {wait:.0f} s "
                    f"(at {time.strftime('%H:%M:%S', time.gmtime(retry_at))}Z), longer than the "
                    f"{self.max_wait:g} s this run waits; run it again then",
                    retry_at,
                )
            logger.warning("GitHub's rate limit: waiting %.1f s", wait)
            self._sleep(wait)
        if response.status_code in (401, 403, 404):
            raise GitHubError(_refusal(response, url))
        if not response.ok:
            raise GitHubError(f"GitHub answered {response.status_code} to {method} {url}: {_message(response)}")
        return response


def reconcile_github(
    conn: psycopg.Connection, client: GitHubClient, hook: Hook, *, since: datetime, dry_run: bool = False
) -> GitHubReconcileResult:
    """Ask for one redelivery of each guid delivered since ``since`` with no stored event.

    A rate limit or an error partway is recorded in ``result.error`` with the counts so far.
    """
    result = GitHubReconcileResult()
    newest: dict[str, dict[str, Any]] = {}  # guid → its newest delivery
    try:
        for delivery in _deliveries_since(client, hook, since):
            current = newest.get(delivery["guid"])
            if current is None or delivery["id"] > current["id"]:
                newest[delivery["guid"]] = delivery
        result.found = len(newest)
        stored = queries.stored_event_ids(conn, SCHEME, list(newest))
        result.missing = [guid for guid in newest if guid not in stored]
        if dry_run:
            return result
        # Read again: a delivery (or another run's redelivery) may have arrived while listing.
        arrived = queries.stored_event_ids(conn, SCHEME, result.missing)
        for guid in [guid for guid in result.missing if guid not in arrived]:
            client.redeliver(hook, newest[guid]["id"])
            result.requested.append(guid)
    except GitHubError as exc:
        result.error = str(exc)
    return result


def _deliveries_since(client: GitHubClient, hook: Hook, since: datetime) -> Iterator[dict[str, Any]]:
    for page in client.delivery_pages(hook):
        for delivery in page:
            if datetime.fromisoformat(delivery["delivered_at"]) < since:
                return  # newest first: the rest is older still
            yield delivery


def _rate_limit_wait(response: requests.Response) -> float | None:
    """Seconds GitHub asks to wait before the next request, or None when this is no rate limit."""
    if response.status_code not in (403, 429):
        return None
    retry_after = response.headers.get("Retry-After")
    if retry_after is not None and retry_after.strip().isdigit():
        return float(retry_after)
    reset = response.headers.get("X-RateLimit-Reset")
    if response.headers.get("X-RateLimit-Remaining") == "0" and reset is not None and reset.strip().isdigit():
        return max(0.0, float(reset) - time.time()) + 1  # the reset is whole seconds: one more to be past it
    return None


def _refusal(response: requests.Response, url: str) -> str:
    if response.status_code == 401:
        return f"GitHub refused the token ({_message(response)}); check GITHUB_TOKEN"
    if response.status_code == 404:
        return (
            f"GitHub found no such hook at {url} ({_message(response)}): check --repo/--org and --hook-id, "
            "and that the token may read the hook (a 404 also hides a missing permission)"
        )
    return (
        f"GitHub forbade {url} ({_message(response)}): the token needs the repository's or organization's "
        "webhooks permission (read and write to redeliver; classic tokens: admin:repo_hook or admin:org_hook)"
    )


def _message(response: requests.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        document = None
    if isinstance(document, dict) and "message" in document:
        return str(document["message"])
    return response.reason or str(response.status_code)
