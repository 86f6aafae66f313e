"""A request head read off a socket without consuming it, and an answer written in one send.

This is how the worker's main loop answers a request itself, with no request thread: a health
check (health_check.py) and a whole, validly signed delivery (main_loop.py). The head is
parsed by gunicorn_h1c, the C parser gunicorn itself uses when it is installed, with gunicorn's
own limits. On top of it, anything gunicorn treats specially makes the head one the main loop
leaves alone: another HTTP version, a repeated header, a name with an underscore (gunicorn drops
those), ``Expect``, ``Transfer-Encoding``, ``Upgrade``, a malformed ``Content-Length``, an empty
line before the request line. Such a request goes to the request threads untouched (it was only
peeked at), so the main loop never answers where gunicorn would have said 400.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import gunicorn_h1c
from gunicorn import SERVER
from gunicorn.http.message import RFC9112_TARGET_INVALID
from gunicorn.util import http_date

# Room for the head and a body as large as most senders' (Stripe's events are a few KiB). A
# larger one is read by a request thread, as before.
MAX_PEEK_BYTES = 64 * 1024
# Headers whose handling is gunicorn's business (100-continue, chunked bodies, h2c).
_NOT_OURS = frozenset({"expect", "transfer-encoding", "upgrade", "http2-settings"})


class Headers(dict[str, str]):
    """Header values by lower-case name; ``get``, ``[]`` and ``in`` take any case, as werkzeug's do."""

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, name.lower())

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, name.lower(), default)


@dataclass(frozen=True, slots=True)
class HeadLimits:
    """gunicorn's limits on a request head (``limit_request_*``), for gunicorn_h1c."""

    line: int = 4094
    fields: int = 100
    field_size: int = 8190

    @classmethod
    def of(cls, cfg: Any) -> HeadLimits:
        return cls(cfg.limit_request_line or 1024 * 1024, cfg.limit_request_fields, cfg.limit_request_field_size)


@dataclass(frozen=True, slots=True)
class RequestHead:
    """An HTTP/1.0 or 1.1 request head at the start of the stream, complete, with its length."""

    method: str
    path: str
    query: str
    minor_version: int
    length: int  # bytes to consume from the socket for the head, its blank line included
    headers: Headers
    content_length: int | None  # None: no Content-Length header

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def keep_alive(self) -> bool:
        """HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only when asked to keep it."""
        tokens = {token.strip().lower() for token in self.headers.get("connection", "").split(",")}
        return "keep-alive" in tokens if self.minor_version == 0 else "close" not in tokens


def parse(data: bytes, limits: HeadLimits) -> RequestHead | None:
    """The request head at the start of ``data``, or None: incomplete, invalid, or gunicorn's to handle."""
    if data[:2] == b"\r\n":
        return None
    try:
        parsed = gunicorn_h1c.parse_request(
            data,
            limit_request_line=limits.line,
            limit_request_fields=limits.fields,
            limit_request_field_size=limits.field_size,
            permit_unconventional_http_method=False,
            permit_unconventional_http_version=False,
        )
    except Exception:  # IncompleteError (the rest is on its way) or any refusal: gunicorn's to answer
        return None
    target = parsed["path"].decode("latin-1")
    if parsed["minor_version"] not in (0, 1) or not target.startswith("/") or RFC9112_TARGET_INVALID.search(target):
        return None
    headers = Headers()
    for raw_name, raw_value in parsed["headers"]:
        name = raw_name.decode("latin-1").lower()
        if name in headers or "_" in name or name in _NOT_OURS:
            return None
        headers[name] = raw_value.decode("latin-1")
    length = headers.get("content-length")
    if length is not None and not (length.isascii() and length.isdigit()):
        return None
    path, _, query = target.partition("?")
    return RequestHead(
        method=parsed["method"].decode("latin-1"),
        path=path,
        query=query,
        minor_version=parsed["minor_version"],
        length=parsed["consumed"],
        headers=headers,
        content_length=None if length is None else int(length),
    )


def peek(sock: socket.socket) -> bytes:
    """What has arrived on a non-blocking ``sock``, left there; b"" when nothing can be read."""
    try:
        return sock.recv(MAX_PEEK_BYTES, socket.MSG_PEEK)
    except OSError:  # nothing after all, or reset: the request threads' usual path deals with it
        return b""
    except ValueError:  # a TLS socket cannot peek
        return b""


def consume(sock: socket.socket, size: int) -> bool:
    """Take ``size`` bytes that ``peek`` saw off the socket; False if the connection failed meanwhile."""
    try:
        return len(sock.recv(size)) == size
    except OSError:
        return False


def send(sock: socket.socket, data: bytes) -> bool:
    """Send an answer into the (empty) send buffer without waiting; False if it did not fit whole
    or the client left: the caller closes the connection rather than wait for the client."""
    try:
        return sock.send(data) == len(data)
    except OSError:
        return False


def json_payload(document: Mapping[str, object]) -> bytes:
    """``document`` as Flask's ``jsonify`` writes it (compact, sorted keys, a final newline)."""
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode() + b"\n"


def response(head: RequestHead, status: int, payload: bytes, *, close: bool) -> bytes:
    """What gunicorn sends for a Flask JSON answer (``json_payload``): its headers, then ``payload``
    (not for HEAD)."""
    data = (
        f"HTTP/1.{head.minor_version} {status} {HTTPStatus(status).phrase}\r\n"
        f"Server: {SERVER}\r\n"
        f"Date: {http_date()}\r\n"
        f"Connection: {'close' if close else 'keep-alive'}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode()
    return data if head.method == "HEAD" else data + payload


@dataclass(frozen=True, slots=True)
class Answered:
    """What gunicorn's access logger reads of a response (logs.JsonGunicornLogger.access)."""

    status_code: int
    sent: int


def access_environ(head: RequestHead, client: object) -> dict[str, str | None]:
    """The WSGI environ keys the access log reads, as gunicorn would have set them."""
    return {
        "REQUEST_METHOD": head.method,
        "PATH_INFO": head.path,
        "QUERY_STRING": head.query,
        "RAW_URI": head.target,
        "SERVER_PROTOCOL": f"HTTP/1.{head.minor_version}",
        "REMOTE_ADDR": str(client[0]) if isinstance(client, tuple) else None,
        "HTTP_USER_AGENT": head.headers.get("user-agent"),
    }
