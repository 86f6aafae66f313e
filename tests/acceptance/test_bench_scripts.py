"""Every benchmark starts as a user starts it, from anywhere: ``.venv/bin/python bench/NAME.py``.

The benchmarks are outside pytest, so nothing else notices when one no longer imports: one
failed on a metric's label count for a while, and all of them once imported another package's
top-level ``tests`` (paddle-python-sdk ships one) instead of the checkout's test harness.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
COMMANDS = sorted(path for path in BENCH.glob("*.py") if "argparse" in path.read_text(encoding="utf-8"))


def test_there_are_benchmarks_to_check() -> None:
    assert len(COMMANDS) >= 10, COMMANDS


@pytest.mark.parametrize("script", COMMANDS, ids=lambda path: path.name)
def test_a_benchmark_imports_and_explains_itself_from_another_directory(script: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(script), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:"), result.stdout
