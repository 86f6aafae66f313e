"""The shipped alert rules, checked and unit-tested by Prometheus' own promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60, check=False)


def test_the_rules_are_valid() -> None:
    result = promtool("check", "rules", str(REPO_ROOT / "deploy" / "prometheus" / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_single_5xx_pages_nobody_a_sustained_rate_does() -> None:
    result = promtool("test", "rules", str(Path(__file__).with_name("alerts_test.yml")))
    assert result.returncode == 0, result.stdout + result.stderr
