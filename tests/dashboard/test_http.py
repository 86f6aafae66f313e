"""The dashboard over plain HTTP against a real gunicorn: configuration, sign-in, session, CSRF, escaping."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import requests

from tests.harness.dashboard import DASHBOARD_PASSWORD, DashboardServer, csrf_token
from tests.integration.test_operator_queries import row, store
from webhook_server.errors import EXIT_CONFIG
from webhook_server.inbox import IncomingEvent, insert_events

WEBHOOK_SERVER = Path(sys.executable).parent / "webhook-server"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "WEBHOOK_DASHBOARD_PASSWORD: not set; set it to a password of at least 12 characters"),
        ({"WEBHOOK_DASHBOARD_PASSWORD": "short"}, "WEBHOOK_DASHBOARD_PASSWORD: too short"),
        (
            {"WEBHOOK_DASHBOARD_PASSWORD": DASHBOARD_PASSWORD, "WEBHOOK_DASHBOARD_BIND": "127.0.0.1:8000"},
            "WEBHOOK_DASHBOARD_BIND: 127.0.0.1:8000 is the webhook server's address (WEBHOOK_BIND)",
        ),
        (
            {"WEBHOOK_DASHBOARD_PASSWORD": DASHBOARD_PASSWORD, "WEBHOOK_DASHBOARD_TLS": "maybe"},
            "WEBHOOK_DASHBOARD_TLS: 'maybe' is not one of on, off",
        ),
        (
            {"WEBHOOK_DASHBOARD_PASSWORD": DASHBOARD_PASSWORD, "WEBHOOK_DASHBOARD_STATE_DIR": ""},
            "WEBHOOK_DASHBOARD_STATE_DIR: not set; set it to a directory only the dashboard's user can read",
        ),
        (
            {"WEBHOOK_DASHBOARD_PASSWORD": DASHBOARD_PASSWORD, "WEBHOOK_DASHBOARD_STATE_DIR": "/proc/no"},
            "WEBHOOK_DASHBOARD_STATE_DIR: /proc/no is not a directory this process can write in",
        ),
    ],
)
def test_a_bad_configuration_exits_78_naming_the_variable(env: dict[str, str], expected: str, tmp_path: Path) -> None:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("WEBHOOK_DASHBOARD_", "WEBHOOK_BIND"))
    }
    result = subprocess.run(
        [str(WEBHOOK_SERVER), "dashboard"],
        env={
            **environment,
            "DATABASE_URL": "postgresql://localhost/none",
            "WEBHOOK_DASHBOARD_STATE_DIR": str(tmp_path),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == EXIT_CONFIG
    assert expected in result.stderr


def test_every_page_needs_the_session_and_the_cookie_is_locked_down(dashboard: DashboardServer) -> None:
    for path in ("/", "/events", "/events/1", "/replay?status=dead"):
        answer = requests.get(dashboard.url(path), allow_redirects=False, timeout=10)
        assert answer.status_code == 302, path
        assert answer.headers["Location"].startswith("/login?next=")
    assert requests.post(dashboard.url("/events/1/replay"), timeout=10).status_code == 401
    assert requests.get(dashboard.url("/static/dashboard.css"), timeout=10).status_code == 200  # no secret in it

    login = requests.get(dashboard.url("/login"), timeout=10)
    assert "default-src 'none'" in login.headers["Content-Security-Policy"]
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie

    session = dashboard.sign_in()
    assert session.get(dashboard.url("/"), timeout=10).status_code == 200


def test_the_cookie_is_secure_when_served_over_tls(start_dashboard: Callable[..., DashboardServer]) -> None:
    dashboard = start_dashboard(WEBHOOK_DASHBOARD_TLS="on")
    assert "; Secure" in requests.get(dashboard.url("/login"), timeout=10).headers["Set-Cookie"]


def test_a_post_without_a_valid_csrf_token_is_400_and_changes_nothing(
    dashboard: DashboardServer, clean_db: str
) -> None:
    store(clean_db, "evt_dead", status="dead", attempts=3)
    row_id = row(clean_db, "evt_dead")["id"]
    session = dashboard.sign_in()
    for data in ({}, {"csrf_token": "forged"}):
        assert session.post(dashboard.url(f"/events/{row_id}/replay"), data=data, timeout=10).status_code == 400
        assert session.post(dashboard.url("/replay"), data={**data, "status": "dead"}, timeout=10).status_code == 400
    assert row(clean_db, "evt_dead")["status"] == "dead"

    token = csrf_token(session.get(dashboard.url(f"/events/{row_id}"), timeout=10).text)
    assert session.post(dashboard.url(f"/events/{row_id}/replay"), data={"csrf_token": token}, timeout=10).ok
    assert row(clean_db, "evt_dead")["status"] == "pending"


def test_a_payload_is_escaped_and_downloaded_as_stored(dashboard: DashboardServer, clean_db: str) -> None:
    store(clean_db, "evt_<script>alert(1)</script>")
    row_id = row(clean_db, "evt_<script>alert(1)</script>")["id"]
    session = dashboard.sign_in()
    page = session.get(dashboard.url(f"/events/{row_id}"), timeout=10).text
    assert "<script>" not in page
    assert "evt_&lt;script&gt;alert(1)&lt;/script&gt;" in page
    download = session.get(dashboard.url(f"/events/{row_id}/payload.json"), timeout=10)
    assert download.headers["Content-Type"] == "application/json"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.json()["id"] == "evt_<script>alert(1)</script>"


def test_filters_that_make_no_sense_are_a_400_naming_the_field(dashboard: DashboardServer) -> None:
    session = dashboard.sign_in()
    for query, field in (("status=gone", "status"), ("since=yesterday", "since"), ("before=x", "before")):
        answer = session.get(dashboard.url(f"/events?{query}"), timeout=10)
        assert answer.status_code == 400 and field in answer.text, query


@pytest.mark.parametrize(
    ("asked", "sent_to"),
    [("/events?status=dead", "/events?status=dead"), ("//evil.example", "/"), ("/\\evil.example", "/"), ("", "/")],
)
def test_sign_in_returns_to_the_page_asked_for_on_this_site_only(
    dashboard: DashboardServer, asked: str, sent_to: str
) -> None:
    session = requests.Session()
    token = csrf_token(session.get(dashboard.url("/login"), timeout=10).text)
    answer = session.post(
        dashboard.url("/login"),
        data={"csrf_token": token, "password": DASHBOARD_PASSWORD, "next": asked},
        allow_redirects=False,
        timeout=10,
    )
    assert (answer.status_code, answer.headers["Location"]) == (302, sent_to)


def test_the_overview_counts_charts_and_names_what_needs_attention(dashboard: DashboardServer, clean_db: str) -> None:
    store(clean_db, "evt_dead_new", status="dead", attempts=3, last_error="boom\nTraceback")
    store(clean_db, "evt_ok", status="done")
    store(clean_db, "evt_unhandled", scheme="github", event_type="push", status="skipped")
    store(clean_db, "evt_waiting")
    page = dashboard.sign_in().get(dashboard.url("/"), timeout=10).text
    assert "4 events, 1 of them failed or dead now" in page
    assert page.count('<rect class="all"') == 24  # a bar for every hour of the day
    assert "evt_dead_new" in page and "boom" in page and "Traceback" not in page  # the newest dead, first line
    assert "/events?status=skipped&amp;scheme=github&amp;type=push" in page  # the skipped type, one click away
    assert 'id="oldest-pending">due for 0m' in page


def test_the_download_is_the_body_as_signed(dashboard: DashboardServer, clean_db: str) -> None:
    """Key order, spacing and what jsonb cannot hold (a NUL escape, a lone surrogate) come back byte
    for byte; the event's page shows them."""
    body = '{"type": "invoice.paid",   "id": "evt_raw", "note": "nul \\u0000 half \\ud800"}'
    with psycopg.connect(clean_db, autocommit=True) as conn:
        insert_events(conn, [IncomingEvent("stripe", "evt_raw", "invoice.paid", body)])
    row_id = row(clean_db, "evt_raw")["id"]
    session = dashboard.sign_in()
    page = session.get(dashboard.url(f"/events/{row_id}"), timeout=10)
    assert page.status_code == 200 and "\\ud800" in page.text
    assert session.get(dashboard.url(f"/events/{row_id}/payload.json"), timeout=10).content == body.encode()


def test_events_filter_by_endpoint_and_the_overview_links_to_each_endpoint(
    dashboard: DashboardServer, clean_db: str
) -> None:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        insert_events(
            conn,
            [
                IncomingEvent("stripe", "evt_eu", "invoice.paid", '{"id": "evt_eu"}', endpoint="stripe-eu"),
                IncomingEvent("stripe", "evt_us", "invoice.paid", '{"id": "evt_us"}'),
            ],
        )
    session = dashboard.sign_in()
    page = session.get(dashboard.url("/events"), params={"endpoint": "stripe-eu"}, timeout=10).text
    assert "evt_eu" in page and "evt_us" not in page
    assert 'name="endpoint" value="stripe-eu"' in page  # the form keeps what was typed
    overview = session.get(dashboard.url("/"), timeout=10).text
    assert "/events?status=pending&amp;endpoint=stripe-eu" in overview


def test_a_link_saved_with_the_filters_old_name_for_the_scheme_still_filters(
    dashboard: DashboardServer, clean_db: str
) -> None:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        insert_events(
            conn,
            [
                IncomingEvent("stripe", "evt_old_link", "invoice.paid", '{"id": "evt_old_link"}'),
                IncomingEvent("github", "gh_old_link", "push", "{}"),
            ],
        )
    session = dashboard.sign_in()
    page = session.get(dashboard.url("/events"), params={"provider": "github"}, timeout=10).text
    assert "gh_old_link" in page and "evt_old_link" not in page
    assert 'name="scheme" value="github"' in page


# As sent in the query string: NUL, a lone surrogate and a byte that is no UTF-8, an escape sequence.
HOSTILE_VALUES = ["%00", "a%00b", "%ED%A0%80", "%FF", "%1B%5B2J", "9" * 5000, "x" * 200_000]


def test_hostile_filter_values_are_answered_never_a_5xx(dashboard: DashboardServer) -> None:
    session = dashboard.sign_in()
    for field in ("scheme", "provider", "endpoint", "type", "event_id"):
        for value in HOSTILE_VALUES:
            answer = session.get(dashboard.url(f"/events?{field}={value}"), timeout=10)
            assert answer.status_code < 500, (field, value[:20], answer.status_code, answer.text[:300])
            if "%00" in value:  # Postgres' text cannot hold a NUL: nothing stored has one
                assert answer.status_code == 400 and "holds a NUL" in answer.text, (field, value)
