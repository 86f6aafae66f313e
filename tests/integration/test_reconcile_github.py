"""`reconcile github` against a fake GitHub deliveries API on loopback and a real Postgres."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import signers
from tests.fake_github import TOKEN, FakeGitHub, RateLimit
from webhook_server.operator import queries
from webhook_server.operator.reconcile_github import GitHubClient, GitHubReconcileResult, Hook, reconcile_github
from webhook_server.settings import Settings

GITHUB_SECRET = "github-hook-secret"
HOOK = Hook(7, repo="acme/shop")


@pytest.fixture
def github_client(make_app, settings: Settings) -> FlaskClient:
    app: Flask = make_app(Settings(database_url=settings.database_url, github_secrets=(GITHUB_SECRET,)))
    return app.test_client()


def store(client: FlaskClient, fake: FakeGitHub, guid: str) -> None:
    """GitHub's delivery of ``guid`` reaching the server (as the fake would have sent it)."""
    body = fake.bodies[guid]
    response = client.post("/webhooks/github", data=body, headers=signers.github(body, GITHUB_SECRET, delivery=guid))
    assert response.status_code == 200


def run(
    database_url: str, fake: FakeGitHub, *, hook: Hook = HOOK, since: timedelta = timedelta(days=3), **kwargs
) -> GitHubReconcileResult:
    client = GitHubClient(TOKEN, api_base=fake.url, max_wait=kwargs.pop("max_wait", 5))
    with queries.connect(database_url) as conn:
        return reconcile_github(conn, client, hook, since=datetime.now(UTC) - since, **kwargs)


def test_one_redelivery_per_missing_guid_of_its_newest_delivery_never_for_a_stored_one(
    github_client: FlaskClient, clean_db: str, fake_github: FakeGitHub
) -> None:
    guids = [fake_github.deliver(ago=timedelta(minutes=300 - i)) for i in range(230)]
    retried_twice = guids[10]
    fake_github.deliver(guid=retried_twice, ago=timedelta(minutes=5))  # a manual redelivery that failed too
    stored = guids[:3] + guids[-2:]
    for guid in stored:
        fake_github.deliver(guid=guid, ago=timedelta(minutes=1), status_code=200)
        store(github_client, fake_github, guid)

    result = run(clean_db, fake_github)

    missing = set(guids) - set(stored)
    assert (result.found, set(result.missing), set(result.requested), result.error) == (230, missing, missing, None)
    assert len(fake_github.requests) == 3 + len(missing)  # 236 deliveries: three pages, then one POST a guid
    asked = [d for d in fake_github.deliveries if d["id"] in fake_github.redeliveries]
    assert sorted(d["guid"] for d in asked) == sorted(missing)
    newest = max(d["id"] for d in fake_github.deliveries[:236] if d["guid"] == retried_twice)
    assert newest in fake_github.redeliveries

    for guid in missing:  # GitHub redelivers them and the server stores them
        store(github_client, fake_github, guid)
    again = run(clean_db, fake_github)
    assert (again.found, again.missing, again.requested) == (230, [], [])
    assert len(fake_github.redeliveries) == len(missing)


def test_since_bounds_the_listing_and_a_dry_run_asks_for_nothing(
    github_client: FlaskClient, clean_db: str, fake_github: FakeGitHub
) -> None:
    old = fake_github.deliver(ago=timedelta(hours=30))
    recent = [fake_github.deliver(ago=timedelta(minutes=50 - i)) for i in range(3)]
    store(github_client, fake_github, recent[0])

    dry = run(clean_db, fake_github, since=timedelta(hours=1), dry_run=True)
    assert (dry.found, sorted(dry.missing), dry.requested) == (3, sorted(recent[1:]), [])
    assert fake_github.redeliveries == []
    assert old not in dry.missing

    fake_github.hook = "orgs/acme/hooks/9"  # the same deliveries, as an organization's hook
    assert run(clean_db, fake_github, hook=Hook(9, org="acme"), since=timedelta(days=2)).found == 4


def test_rate_limits_are_waited_out_within_the_bound_and_reported_beyond_it(
    clean_db: str, fake_github: FakeGitHub
) -> None:
    guids = [fake_github.deliver(ago=timedelta(minutes=i)) for i in range(2)]
    fake_github.rate_limits += [RateLimit(retry_after=1), RateLimit(reset_in=1)]
    started = time.monotonic()
    waited = run(clean_db, fake_github)
    assert (waited.found, len(waited.requested), waited.error) == (2, 2, None)
    assert time.monotonic() - started >= 2  # each wait sat out, none skipped

    fake_github.deliver(ago=timedelta(seconds=1))
    fake_github.rate_limits.append(RateLimit(reset_in=3600))
    stopped = run(clean_db, fake_github)
    assert stopped.found == 0 and stopped.requested == []
    assert "rate limit" in stopped.error and "longer than the 5 s this run waits; run it again then" in stopped.error
    assert len(fake_github.redeliveries) == len(guids)


@pytest.mark.parametrize(
    ("token", "hook", "expected"),
    [
        ("ghp_wrong", HOOK, "GitHub refused the token (Bad credentials); check GITHUB_TOKEN"),
        (TOKEN, Hook(8, repo="acme/shop"), "GitHub found no such hook"),
    ],
)
def test_refusals_say_what_to_fix(
    clean_db: str, fake_github: FakeGitHub, token: str, hook: Hook, expected: str
) -> None:
    fake_github.deliver()
    client = GitHubClient(token, api_base=fake_github.url)
    with queries.connect(clean_db) as conn:
        result = reconcile_github(conn, client, hook, since=datetime.now(UTC) - timedelta(days=3))
    assert result.found == 0 and expected in result.error
