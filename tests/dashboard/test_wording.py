"""What the pages say, read as a new operator reads them: nothing that looks like what it is not."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.harness.dashboard import DashboardServer
from tests.integration.test_operator_queries import now, row, store


def test_filter_placeholders_read_as_examples_not_as_values(dashboard: DashboardServer) -> None:
    """The placeholders "stripe" and "stripe-eu" in empty fields looked like filters already set."""
    session = dashboard.sign_in()
    page = session.get(dashboard.url("/events"), timeout=10).text
    placeholders = re.findall(r'placeholder="([^"]*)"', page)
    assert len(placeholders) >= 5 and all(text.startswith("e.g. ") for text in placeholders), placeholders
    css = session.get(dashboard.url("/static/dashboard.css"), timeout=10).text
    assert "input::placeholder" in css


def test_an_event_a_worker_holds_says_it_is_running_and_a_run_out_lease_says_so(
    dashboard: DashboardServer, clean_db: str
) -> None:
    """A replayed event a worker had taken showed "pending" and "Held by vm:… until", which read
    as stuck."""
    store(clean_db, "evt_running", attempts=1, locked_by="vm:42", locked_until=now() + timedelta(minutes=5))
    store(clean_db, "evt_orphaned", attempts=1, locked_by="vm:43", locked_until=now() - timedelta(minutes=5))
    store(clean_db, "evt_waiting")
    session = dashboard.sign_in()

    def page(event_id: str) -> str:
        return session.get(dashboard.url(f"/events/{row(clean_db, event_id)['id']}"), timeout=10).text

    running = page("evt_running")
    assert "a worker is running it now" in running
    assert re.search(r'id="event-worker">vm:42, its lease until \d{4}-', running)
    orphaned = page("evt_orphaned")
    assert "a worker is running it now" not in orphaned
    assert "none: the lease of vm:43 ran out at" in orphaned
    waiting = page("evt_waiting")
    assert "a worker is running it now" not in waiting and 'id="event-worker">-<' in waiting
