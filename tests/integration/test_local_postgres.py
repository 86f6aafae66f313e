"""The local Postgres of `dev`, the tests and the benchmarks, as root: Postgres runs as the wheel's
system user, which alone is let through the private directories above its data."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.harness.postgres import NOT_DURABLE
from webhook_server.dev.localdb import SYSTEM_USER, LocalPostgres

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root runs Postgres as another user")


def passes_through(user: str, path: Path) -> bool:
    return subprocess.run(["stat", str(path)], user=user, capture_output=True, check=False).returncode == 0


def test_as_root_only_postgres_user_is_let_through_private_parents(tmp_path: Path) -> None:
    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    with LocalPostgres(private / "checkout" / "data", settings=NOT_DURABLE) as postgres:
        with psycopg.connect(postgres.url(), connect_timeout=10) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        mode = stat.S_IMODE(private.stat().st_mode)
        assert mode & 0o007 == 0, oct(mode)  # others still may not pass, nor list
        assert passes_through(SYSTEM_USER, postgres.data_dir)
        assert not passes_through("nobody", private / "checkout")
        # Started again, nothing more is granted (the entry is there already).
        postgres.stop()
        postgres.start()
        assert stat.S_IMODE(private.stat().st_mode) == mode
        # A chmod meanwhile (pytest does one on its base directory) masks the entry: it is let through again.
        postgres.stop()
        private.chmod(0o700)
        assert not passes_through(SYSTEM_USER, postgres.data_dir)
        postgres.start()
        assert passes_through(SYSTEM_USER, postgres.data_dir)
