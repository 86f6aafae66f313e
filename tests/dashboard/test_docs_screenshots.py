"""The docs' dashboard screenshots can be made again: scripts/docs_screenshots.py runs end to end
(a seeded database, a real server, worker and dashboard, headless Chromium) into a temporary
directory, and every picture shows a page, not an error."""

from __future__ import annotations

import struct
from pathlib import Path

from scripts import docs_screenshots


def test_the_screenshot_script_makes_every_picture(tmp_path: Path) -> None:
    assert docs_screenshots.main(["--out", str(tmp_path)]) == 0
    made = sorted(path.name for path in tmp_path.glob("*.png"))
    assert made == sorted([name for name, _, _ in docs_screenshots.PAGES] + ["dashboard-event.png"])
    for path in tmp_path.glob("*.png"):
        head = path.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n", path
        width, height = struct.unpack(">II", head[16:24])
        assert width == docs_screenshots.WINDOW[0] and height > 500, (path.name, width, height)
