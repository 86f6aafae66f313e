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


def test_each_alert_fires_when_it_should_and_only_then() -> None:
    """The cases in alerts_test.yml: a single 5xx pages nobody, a sustained rate does (either route);
    a rotated secret pages, probes do not; dead events, an old backlog, no worker heartbeat."""
    result = promtool("test", "rules", str(Path(__file__).with_name("alerts_test.yml")))
    assert result.returncode == 0, result.stdout + result.stderr
