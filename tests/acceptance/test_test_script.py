"""scripts/test, the README's command: every pass runs, and its last line says what failed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT


def test_both_passes_run_when_the_first_fails_and_the_last_line_names_each_failure(tmp_path: Path) -> None:
    """A failing first pass used to end the script: the second, on Debian's PostgreSQL, was
    skipped without a word. Here both passes select nothing, which pytest reports as exit 5."""
    addopts = f"{os.environ.get('PYTEST_ADDOPTS', '')} -k no_test_is_named_this --basetemp={tmp_path / 'pt'}"
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "test")],
        env={**os.environ, "PYTEST_ADDOPTS": addopts},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "scripts/test: FAILED: the suite (embedded PostgreSQL); tests/integration tests/worker on Debian"
    ), last
    ran = "(ran: ruff check; ruff format; import contracts; types; docs (mkdocs build --strict); the suite"
    assert ran in last, last
