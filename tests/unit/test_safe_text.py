from __future__ import annotations

from webhook_server.safe_text import printable, storable


def test_storable_escapes_what_postgres_text_refuses_and_bounds_the_length() -> None:
    assert storable("a \ud800 b \x00 c", 100) == "a \\ud800 b \\x00 c"
    assert storable("\udfff\U0001f600", 100) == "\\udfff\U0001f600"  # a pair's half escaped, a real emoji kept
    assert storable("é\x1b\n", 100) == "é\x1b\n"  # the rest is Postgres' to keep
    assert storable("x" * 10, 5) == "xxxx…"
    assert storable("\ud800" * 3, 10) == "\\ud800\\ud…"


def test_printable_escapes_terminal_controls_and_keeps_the_layout() -> None:
    assert printable("title \x1b]0;owned\x07 clear \x1b[2J") == "title \\x1b]0;owned\\x07 clear \\x1b[2J"
    assert printable("over\rwrite \x9b1m \x7f \x00") == "over\\x0dwrite \\x9b1m \\x7f \\x00"
    assert printable("line\n\tindented é \ud800") == "line\n\tindented é \\ud800"
