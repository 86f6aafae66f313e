"""An operator in a real browser (headless Chromium): sign in, find a failed event, read why, replay it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import psycopg
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.dashboard.conftest import PAGE_TIMEOUT_SECONDS
from tests.harness.dashboard import DASHBOARD_PASSWORD, DashboardServer
from tests.worker.conftest import WorkerProcess, count_status, insert_events, query, wait_for
from webhook_server.dashboard import auth


def sign_in(browser: Chrome, dashboard: DashboardServer, password: str = DASHBOARD_PASSWORD) -> None:
    """Through the form, by keyboard: the field is labelled and Enter submits."""
    browser.get(dashboard.url("/"))
    assert "/login" in browser.current_url
    field = browser.find_element(By.ID, browser.find_element(By.CSS_SELECTOR, "label[for]").get_attribute("for"))
    assert field.get_attribute("name") == "password"
    field.send_keys(password, Keys.ENTER)


def text(browser: Chrome, css: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, css).text


def rows(browser: Chrome) -> list[str]:
    """The event ids of the listed events, in order."""
    return [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "tbody td.mono a")]


def until(browser: Chrome, condition: Callable[[Chrome], object], what: str) -> None:
    """Poll the page: after a click the old page's elements may go stale, or the new page not be there yet."""
    WebDriverWait(
        browser,
        PAGE_TIMEOUT_SECONDS,
        poll_frequency=0.1,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    ).until(condition, what)


def shows(css: str, expected: str) -> Callable[[Chrome], bool]:
    """Whether the element at ``css`` holds ``expected``."""
    return lambda browser: expected in browser.find_element(By.CSS_SELECTOR, css).text


def test_an_operator_signs_in_lists_filters_opens_and_replays_events(
    browser: Chrome, dashboard: DashboardServer, worker_db: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    doomed = insert_events(worker_db, 3, prefix="doomed", fail_attempts=3)  # dead after its 3 attempts
    fine = insert_events(worker_db, 2, prefix="fine")
    hostile = insert_events(worker_db, 1, prefix="hostile", note="<script>document.title='owned'</script>")
    start_worker(WEBHOOK_WORKER_POLL="0.05")
    wait_for(lambda: count_status(worker_db, "dead") == 3 and count_status(worker_db, "done") == 3, 30, "all finished")

    sign_in(browser, dashboard, password="a wrong password!")
    until(browser, shows("[role=alert]", "Wrong password"), "the wrong password refused")
    sign_in(browser, dashboard)  # too soon after a wrong one: refused unchecked, with the wait to keep
    until(browser, shows("[role=alert]", "Too many sign-in attempts"), "the next attempt refused")
    time.sleep(auth.CLIENT_INTERVAL_SECONDS)
    sign_in(browser, dashboard)
    until(browser, lambda b: b.find_elements(By.ID, "oldest-pending"), "the overview")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Overview"
    assert "6 events, 3 of them failed or dead now" in browser.page_source
    assert browser.find_element(By.CSS_SELECTOR, "svg.chart").is_displayed()
    assert sorted(rows(browser)) == sorted(doomed)  # the newest dead events

    browser.find_element(By.LINK_TEXT, "Events").click()
    until(browser, shows("h1", "Events"), "the event list")
    assert rows(browser) == list(reversed(doomed + fine + hostile))  # newest first
    Select(browser.find_element(By.ID, "status")).select_by_value("dead")
    browser.find_element(By.ID, "event_id").send_keys(doomed[1], Keys.ENTER)
    until(browser, lambda b: rows(b) == [doomed[1]], "the filtered list")
    assert "status=dead" in browser.current_url

    browser.find_element(By.LINK_TEXT, doomed[1]).click()
    until(browser, shows("#event-status", "dead"), "the event's page")
    history = browser.find_elements(By.CSS_SELECTOR, "#history li")
    assert [item.get_attribute("class") for item in history] == ["attempt failed"] * 3
    assert "RuntimeError: planned failure of attempt 3" in history[2].text
    # The operator fixes the handler (here: the events stop asking it to fail), then replays.
    query(worker_db, "UPDATE webhook_events SET payload = jsonb_set(payload, '{test,fail_attempts}', '0') RETURNING 1")
    browser.find_element(By.ID, "replay").click()
    until(browser, shows(".flash.ok", "Replayed"), "the replay confirmed")
    # A real worker runs it again; the attempt is added below the first three.
    wait_for(lambda: count_status(worker_db, "done") == 4, 30, "the replayed event done")
    browser.refresh()
    assert text(browser, "#event-status") == "done"
    outcomes = [item.get_attribute("class") for item in browser.find_elements(By.CSS_SELECTOR, "#history li")]
    assert outcomes == ["attempt failed"] * 3 + ["attempt replayed", "attempt done"]
    replayed = browser.find_element(By.CSS_SELECTOR, "#history li.replayed").text
    assert "replayed by the dashboard after 3 attempts" in replayed, replayed

    # Bulk: the two still dead, confirmed with their count first.
    browser.get(dashboard.url("/events?status=dead"))
    browser.find_element(By.PARTIAL_LINK_TEXT, "Replay the dead and failed events").click()
    until(browser, shows("#replay-count", "2 events would go back to pending"), "the count to confirm")
    browser.find_element(By.ID, "bulk-replay").click()
    until(browser, shows(".flash.ok", "Replayed 2 events"), "the bulk replay confirmed")
    wait_for(lambda: count_status(worker_db, "done") == 6, 30, "the bulk-replayed events done")

    # An attacker-controlled payload is shown as text, never run.
    ((row_id,),) = query(worker_db, "SELECT id FROM webhook_events WHERE event_id = %s", hostile[0])
    browser.get(dashboard.url(f"/events/{row_id}"))
    assert "<script>document.title='owned'</script>" in text(browser, "#payload")
    assert browser.title != "owned"
    assert json.loads(text(browser, "#payload"))["test"]["note"].startswith("<script>")


def test_a_forged_post_from_the_signed_in_browser_is_refused(
    browser: Chrome, dashboard: DashboardServer, clean_db: str
) -> None:
    (event_id,) = insert_events(clean_db, 1, prefix="dead")
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("UPDATE webhook_events SET status = 'dead', attempts = 3")
    ((row_id,),) = query(clean_db, "SELECT id FROM webhook_events WHERE event_id = %s", event_id)
    sign_in(browser, dashboard)
    until(browser, lambda b: b.find_elements(By.ID, "oldest-pending"), "the overview")
    browser.get(dashboard.url(f"/events/{row_id}"))
    # The page's own form, its token taken out, as a forged form on another page would post it.
    browser.execute_script("document.querySelector('form[action$=\"/replay\"] input[name=csrf_token]').remove()")
    browser.find_element(By.ID, "replay").click()
    until(browser, shows("h1", "400"), "the forged POST refused")
    assert query(clean_db, "SELECT status FROM webhook_events") == [("dead",)]
