"""The dashboard shows the destinations (a paused one says why and how to resume) and an event's deliveries."""

from __future__ import annotations

from tests.dashboard.conftest import dashboard, start_dashboard
from tests.forwarder.conftest import query, store_events
from tests.harness.dashboard import DashboardServer

__all__ = ["dashboard", "start_dashboard"]


def test_a_paused_destination_and_an_events_deliveries_are_shown_escaped(
    forward_db: str, dashboard: DashboardServer
) -> None:
    store_events(forward_db, 1)
    (row_id,) = query(forward_db, "SELECT id FROM webhook_events")[0]
    query(
        forward_db,
        "WITH d AS (INSERT INTO webhook_destinations (name, paused_at, paused_reason) "
        "VALUES ('billing', now(), %s), ('crm', NULL, NULL) RETURNING name) SELECT count(*) FROM d",
        "20 attempts failed over 600 s; last: HTTP 500 <script>alert(1)</script>",
    )
    query(
        forward_db,
        "WITH d AS (INSERT INTO webhook_deliveries (destination, event_row, endpoint, status, attempts) "
        "VALUES ('billing', %s, 'stripe', 'failed', 1) RETURNING id), "
        "a AS (INSERT INTO webhook_delivery_attempts (delivery_id, attempt, worker, started_at, finished_at, outcome, "
        "status_code, latency, response, error) SELECT id, 1, 'w', now(), now(), 'failed', 500, 0.25, "
        "'<b>down</b>', 'HTTP 500 Internal Server Error' FROM d RETURNING 1) SELECT count(*) FROM a",
        row_id,
    )
    session = dashboard.sign_in()
    overview = session.get(dashboard.url("/"), timeout=10).text
    assert 'id="destinations"' in overview
    assert "webhook-server destinations resume billing" in overview and "active" in overview
    assert "<script>" not in overview and "&lt;script&gt;" in overview

    page = session.get(dashboard.url(f"/events/{row_id}"), timeout=10).text
    assert 'id="deliveries"' in page and "HTTP 500 Internal Server Error" in page and "0.250" in page
