"""Screenshots of the dashboard for the docs (docs/images/dashboard-*.png), made, not hand-kept.

    scripts/docs screenshots      # about 30 s; needs Debian's chromium and chromium-driver

Everything is real: a throwaway Postgres, a webhook server that receives signed deliveries of
several schemes (the `send` samples), a worker whose handlers fail some types until the events
are dead (scripts/docs_screenshot_handlers.py), and the dashboard, driven by headless Chromium
through selenium as tests/dashboard does. Run it again after a change to the dashboard's pages.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import psycopg
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.harness.dashboard import DASHBOARD_PASSWORD, DashboardServer
from tests.harness.gunicorn import GunicornServer, kill_group, start_logged
from tests.harness.polling import wait_for
from tests.harness.postgres import NOT_DURABLE
from webhook_server.dev.localdb import LocalPostgres
from webhook_server.dev.samples import signed_sample
from webhook_server.migrations import migrate

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW = (1280, 900)
SETTLE_SECONDS = 60
SECRETS = {
    "stripe": ("STRIPE_WEBHOOK_SECRET", "whsec_docsscreenshots"),
    "github": ("GITHUB_WEBHOOK_SECRET", "docs-screenshots-github"),
    "shopify": ("SHOPIFY_WEBHOOK_SECRET", "docs-screenshots-shopify"),
}
# What the dashboard will show: a day of ordinary traffic, and a type whose handler keeps failing.
DELIVERIES = [
    *[("stripe", "payment_intent.succeeded")] * 12,
    *[("stripe", "invoice.paid")] * 6,
    *[("stripe", "invoice.payment_failed")] * 3,  # the handler raises: dead after its attempts
    *[("stripe", "customer.created")] * 4,
    ("stripe", "payout.paid"),  # no handler: skipped
    *[("github", "pull_request")] * 5,
    *[("github", "push")] * 3,
    *[("shopify", "orders/create")] * 6,
]
# (file, path, what must be on the page before the picture is taken)
PAGES = [
    ("dashboard-overview.png", "/", "Overview"),
    ("dashboard-events.png", "/events", "Events"),
    ("dashboard-dead.png", "/events?status=dead", "dead"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the dashboard's screenshots in docs/images/.")
    parser.add_argument("--out", type=Path, default=IMAGES, help="where to write the PNGs (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="docs-screenshots-") as directory:
        work = Path(directory)
        with LocalPostgres(work / "data", settings=NOT_DURABLE) as postgres:
            migrate(postgres.url())
            seed(postgres.url(), work)
            shoot(postgres.url(), work, args.out)
    return 0


def seed(database_url: str, work: Path) -> None:
    """Deliver the events through a real server and let a real worker run them to the end."""
    server_env = {variable: secret for variable, secret in SECRETS.values()}
    server = GunicornServer(database_url, work / "server.log", **server_env)
    worker = start_logged(
        [str(Path(sys.executable).parent / "webhook-server"), "worker"],
        work / "worker.log",
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url,
            "WEBHOOK_HANDLER_MODULES": "scripts.docs_screenshot_handlers",
            "WEBHOOK_MAX_ATTEMPTS": "3",
            "WEBHOOK_RETRY_BASE": "0.2",
            "WEBHOOK_RETRY_CAP": "0.4",
            "WEBHOOK_WORKER_POLL": "0.2",
        },
        cwd=ROOT,
    )
    try:
        server.wait_until_healthy()
        for scheme, event_type in DELIVERIES:
            sample = signed_sample(scheme, SECRETS[scheme][1], event_type)
            answer = requests.post(
                server.url(f"/webhooks/{scheme}"), data=sample.body, headers=sample.headers, timeout=10
            )
            answer.raise_for_status()
        wait_for(lambda: _unfinished(database_url) == 0, SETTLE_SECONDS, "every event done, dead or skipped")
    finally:
        kill_group(worker)
        server.kill()


def _unfinished(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM webhook_events WHERE status IN ('pending', 'failed')").fetchone()
    return row[0] if row else 0


def shoot(database_url: str, work: Path, out: Path) -> None:
    """Sign in through the form and take each page, and one dead event's, as a browser shows it."""
    dashboard = DashboardServer(database_url, work / "dashboard.log")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    options.add_argument(f"--user-data-dir={work / 'chromium-profile'}")
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER, log_output=str(work / "driver.log")))
    try:
        dashboard.wait_until_ready()
        browser.get(dashboard.url("/login"))
        browser.find_element(By.NAME, "password").send_keys(DASHBOARD_PASSWORD, Keys.ENTER)
        wait_for(lambda: "/login" not in browser.current_url, 20, "signed in")
        out.mkdir(parents=True, exist_ok=True)
        for name, path, expected in PAGES:
            _take(browser, dashboard.url(path), expected, out / name)
        browser.get(dashboard.url("/events?status=dead"))
        first_dead = browser.find_element(By.CSS_SELECTOR, "tbody td a").get_attribute("href")
        _take(browser, first_dead or "", "invoice.payment_failed", out / "dashboard-event.png")
    finally:
        browser.quit()
        dashboard.kill()


def _take(browser: webdriver.Chrome, url: str, expected: str, path: Path) -> None:
    browser.get(url)
    wait_for(lambda: expected in browser.page_source, 20, f"{expected!r} on {url}")
    # The whole page, not only the window: as tall as its content.
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(WINDOW[0], max(WINDOW[1], int(height)))
    browser.save_screenshot(str(path))
    browser.set_window_size(*WINDOW)
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
