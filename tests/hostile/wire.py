"""HTTP/1.1 written byte by byte: the malformed framing no client library would send."""

from __future__ import annotations

import contextlib
import json
import socket
from dataclasses import dataclass

# Longer than a delivery may wait behind slow clients (test_slow_clients), short enough that a
# hang fails fast.
ANSWER_TIMEOUT_SECONDS = 25


@dataclass(frozen=True)
class Answer:
    """What came back: the status (None: closed without an answer) and the app's error code."""

    status: int | None
    error: str | None = None
    body: bytes = b""

    @property
    def from_app(self) -> bool:
        """The app answers every error as JSON; gunicorn's own refusals are HTML pages."""
        return self.error is not None


def request_bytes(
    path: str,
    headers: list[tuple[str, str]] | list[tuple[bytes, bytes]],
    body: bytes,
    *,
    framing: str = "length",
    chunk_size: int = 4096,
    method: str = "POST",
) -> bytes:
    """A whole request. ``framing``: "length" (Content-Length), "chunked", or "none" (headers
    as given, nothing added: the test writes its own framing headers)."""
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close"]
    for name, value in headers:
        lines.append(_bytes(name) + b": " + _bytes(value))
    if framing == "length":
        lines.append(b"Content-Length: %d" % len(body))
        payload = body
    elif framing == "chunked":
        lines.append(b"Transfer-Encoding: chunked")
        payload = chunked(body, chunk_size)
    else:
        payload = body
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


def chunked(body: bytes, chunk_size: int) -> bytes:
    pieces = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def exchange(port: int, data: bytes, *, end_stream: bool = True) -> Answer:
    """Send ``data``, then read the answer until the server closes.

    ``end_stream`` half-closes after sending: a request that promised more than it sent then
    ends at once (a client gone mid-body) instead of waiting out the server's read deadline.
    A reset while sending or reading (the server answered early and closed) counts as closed
    unless an answer was read first.
    """
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT_SECONDS) as client:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            client.sendall(data)
            if end_stream:
                client.shutdown(socket.SHUT_WR)
        with contextlib.suppress(ConnectionResetError):
            while chunk := client.recv(65536):
                received += chunk
    return parse_answer(received)


def parse_answer(received: bytes) -> Answer:
    if not received:
        return Answer(None)
    head, _, body = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    error = None
    with contextlib.suppress(ValueError):
        document = json.loads(body)
        if isinstance(document, dict) and isinstance(document.get("error"), str):
            error = document["error"]
    return Answer(status, error, body)


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")
