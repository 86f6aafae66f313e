"""HTTP answers read off a raw socket, as the tests that write requests byte by byte need them.

Shared by the pipelining tests (tests/lifecycle/test_direct_ingest.py) and the differential
suite (tests/differential/), which compares whole answer streams: one reading of the framing,
so the two cannot count answers differently.
"""

from __future__ import annotations

import re
import socket

Answer = tuple[bytes, bytes]  # (head without its blank line, body)

_CONTENT_LENGTH = re.compile(rb"\r\nContent-Length: *(\d+)", re.IGNORECASE)
_DATE = re.compile(rb"\r\nDate: [^\r]*")


def split_answers(data: bytes) -> tuple[list[Answer], bytes]:
    """The whole answers at the start of ``data`` and what follows them (an answer not yet whole).

    A body is as long as its ``Content-Length`` (none: empty). An answer to ``HEAD`` announces a
    length and sends no body: a head followed at once by another status line is read that way
    (no body here starts with one: they are JSON or HTML), so a pipelined ``HEAD`` does not
    swallow the next answer.
    """
    answers: list[Answer] = []
    while (end := data.find(b"\r\n\r\n")) >= 0:
        head = data[:end]
        match = _CONTENT_LENGTH.search(head)
        length = int(match.group(1)) if match and len(match.group(1)) < 20 else 0
        rest = data[end + 4 :]
        if rest.startswith(b"HTTP/1."):
            length = 0
        if len(rest) < length:
            break
        answers.append((head, rest[:length]))
        data = rest[length:]
    return answers, data


def read_answers(client: socket.socket, count: int) -> list[Answer]:
    """``count`` pipelined responses, each as (head, body)."""
    data, answers = b"", []
    while True:
        whole, data = split_answers(data)
        answers += whole
        if len(answers) >= count:
            return answers[:count]
        chunk = client.recv(65536)
        assert chunk, f"closed after {len(answers)} answers"
        data += chunk


def without_date(head: bytes) -> bytes:
    """``head`` (or a stream of answers) without its ``Date`` lines: the only bytes that differ
    between two otherwise identical answers given a second apart."""
    return _DATE.sub(b"", head)
