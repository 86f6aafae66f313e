"""A real dashboard process against the tests' Postgres, and a headless Chromium to drive it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.harness.dashboard import DashboardServer
from tests.worker.conftest import start_worker, worker_db

__all__ = ["start_worker", "worker_db"]  # real workers, for replays run again

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PAGE_TIMEOUT_SECONDS = 20


@pytest.fixture
def start_dashboard(clean_db: str, tmp_path: Path) -> Iterator[Callable[..., DashboardServer]]:
    """Start dashboards with extra environment variables; every one started is killed afterwards."""
    servers: list[DashboardServer] = []

    def start(**env: str) -> DashboardServer:
        server = DashboardServer(clean_db, tmp_path / f"dashboard-{len(servers)}.log", **env)
        servers.append(server)
        server.wait_until_ready()
        return server

    yield start
    for server in servers:
        server.kill()


@pytest.fixture
def dashboard(start_dashboard: Callable[..., DashboardServer]) -> DashboardServer:
    return start_dashboard()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Debian's chromium, headless, through Debian's chromedriver (selenium downloads nothing)."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("chromium and chromium-driver are missing: scripts/test installs them (apt-get install)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER, log_output=str(tmp_path / "driver.log")))
    driver.set_page_load_timeout(PAGE_TIMEOUT_SECONDS)
    yield driver
    driver.quit()
