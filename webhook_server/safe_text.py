"""Text from outside (a payload, a header, an exception that quotes them) made fit for where it goes.

A Python string, like JSON, holds what two destinations cannot take. Postgres' text refuses
NUL, and UTF-8 cannot encode a lone surrogate (``"\\ud800"`` is valid JSON: a customer's
half-pasted emoji), so one such character in a handler's error failed the write of a whole
batch of outcomes. A terminal obeys the escape sequences it is sent, so an error quoting a
payload could clear the operator's screen or retitle the window. Both get the offending
characters as visible backslash escapes, the way Python's ``repr`` shows them: nothing is lost
to the reader, and nothing is interpreted.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline (a traceback's layout), DEL, and the C1 controls (0x9b is a
# CSI on its own in some terminals).
_TERMINAL_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def storable(text: str, limit: int) -> str:
    """``text`` as a Postgres text column takes it: lone surrogates and NUL as backslash
    escapes (``\\ud800``, ``\\x00``), at most ``limit`` characters (an ellipsis ends a cut one)."""
    text = _encodable(text).replace("\x00", "\\x00")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def holdable(text: str) -> bool:
    """Whether a Postgres text column can hold ``text`` as it is: no NUL, no lone surrogate. A
    value it cannot hold matches nothing stored, and fails in the driver when sent as one."""
    return "\x00" not in text and _encodable(text) == text


def printable(text: str) -> str:
    """``text`` for a terminal: control characters (escape, bell, carriage return, …) and lone
    surrogates as backslash escapes; tabs and newlines kept."""
    return _TERMINAL_CONTROLS.sub(_escape, _encodable(text))


def _encodable(text: str) -> str:
    """Lone surrogates as ``\\udxxx``; anything else as it is."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"
