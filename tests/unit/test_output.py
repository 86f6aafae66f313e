from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from webhook_server.operator import output


def test_table_pads_columns_and_right_aligns_numbers() -> None:
    rendered = output.table(("NAME", "COUNT"), [("pending", 3), ("skipped", 120)])
    assert rendered.splitlines() == [
        "NAME     COUNT",
        "pending      3",
        "skipped    120",
    ]


def test_ages_keep_the_two_largest_units() -> None:
    assert output.age(timedelta(seconds=7)) == "0m 7s"
    assert output.age(timedelta(minutes=4, seconds=12)) == "4m 12s"
    assert output.age(timedelta(hours=3, minutes=4, seconds=59)) == "3h 4m"
    assert output.age(timedelta(days=2, hours=3, minutes=30)) == "2d 3h"


def test_times_are_utc_and_errors_one_short_line() -> None:
    assert output.utc(datetime(2026, 11, 23, 20, 0, tzinfo=timezone(timedelta(hours=2)))) == "2026-11-23 18:00:00Z"
    assert output.utc(None) == "-"
    assert output.short_error("boom\ntraceback") == "boom"
    assert output.short_error("x" * 100) == "x" * 59 + "…"
    assert output.short_error(None) == output.short_error("  \n") == ""


def test_tables_and_json_show_control_characters_escaped() -> None:
    rendered = output.table(("ERROR",), [("set \x1b]0;owned\x07 title",), ("csi \x9b2J",)])
    assert rendered.splitlines()[1:] == ["set \\x1b]0;owned\\x07 title", "csi \\x9b2J"]
    shown = output.pretty_json({"title": "\x1b[2J \x9b2J é"})
    assert "\x1b" not in shown and "\x9b" not in shown and "é" in shown
    assert json.loads(shown) == {"title": "\x1b[2J \x9b2J é"}
