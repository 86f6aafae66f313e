"""scripts/reproduce-502 as a user runs it: kill -9 fails deliveries, our restart fails none."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import REPO_ROOT


def test_reproduce_502_shows_the_failures_and_their_absence() -> None:
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "reproduce-502"), "--settle", "1.5"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"reproduce: kill9_failed=(\d+) graceful_failed=(\d+) sent=(\d+)", last)
    assert match, last
    kill9_failed, graceful_failed, sent = map(int, match.groups())
    assert kill9_failed > 0, result.stdout
    assert graceful_failed == 0, result.stdout
    assert sent > 100
