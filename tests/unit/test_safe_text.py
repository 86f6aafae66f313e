from __future__ import annotations

from webhook_server.safe_text import storable


def test_storable_escapes_what_postgres_text_refuses_and_bounds_the_length() -> None:
    assert storable("a \ud800 b \x00 c", 100) == "a \\ud800 b \\x00 c"
    assert storable("\udfff\U0001f600", 100) == "\\udfff\U0001f600"  # a pair's half escaped, a real emoji kept
    assert storable("é\x1b\n", 100) == "é\x1b\n"  # the rest is Postgres' to keep
    assert storable("x" * 10, 5) == "xxxx…"
    assert storable("\ud800" * 3, 10) == "\\ud800\\ud…"
