"""A real small Django project on the tests' Postgres: workers run it by settings module, the admin in-process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests.conftest import REPO_ROOT
from tests.contrib_django.shop.config import django_settings, settings_module
from tests.worker.conftest import WorkerProcess, start_worker, worker_db

__all__ = ["start_worker", "worker_db"]

HANDLERS = "tests.contrib_django.shop.handlers"


@pytest.fixture(scope="session")
def settings_dir(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding ``shop_settings.py`` for the tests' database."""
    directory = tmp_path_factory.mktemp("django")
    (directory / "shop_settings.py").write_text(settings_module(database_url))
    return directory


@pytest.fixture
def shop_db(worker_db: str) -> str:
    """The tests' database with an empty ``shop_effects`` table."""
    with psycopg.connect(worker_db, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS shop_effects")
        conn.execute(
            "CREATE TABLE shop_effects (id bigserial PRIMARY KEY, event_id text NOT NULL, attempt int NOT NULL, "
            "backend_pid int NOT NULL)"
        )
    return worker_db


@pytest.fixture
def start_django_worker(
    shop_db: str, settings_dir: Path, start_worker: Callable[..., WorkerProcess]
) -> Callable[..., WorkerProcess]:
    """Start ``webhook-server worker`` with DJANGO_SETTINGS_MODULE set to the shop's settings."""

    def start(*, wait: bool = True, **env: str) -> WorkerProcess:
        return start_worker(
            wait=wait,
            **{
                "DJANGO_SETTINGS_MODULE": "shop_settings",
                "PYTHONPATH": f"{REPO_ROOT}:{settings_dir}",
                "WEBHOOK_HANDLER_MODULES": HANDLERS,
                **env,
            },
        )

    return start


@pytest.fixture(scope="session")
def django_in_process(database_url: str) -> None:
    """Django set up in the test process (settings.configure: no DJANGO_SETTINGS_MODULE for other tests' workers)."""
    import django
    from django.conf import settings
    from django.core.management import call_command

    settings.configure(**django_settings(database_url))
    django.setup()
    call_command("migrate", verbosity=0)  # auth, sessions, admin: the admin's own tables
