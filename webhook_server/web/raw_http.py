"""A request head read off a socket without consuming it, and an answer written in one send.

This is how the worker's main loop answers a request itself, with no request thread: a health
check (health.py) and a whole, validly signed delivery (main_loop.py). The head is read
by gunicorn's own ``Request`` (its C parser, gunicorn_h1c, when installed; its limits, its
header policy: scheme headers from trusted proxies, singleton fields, ``Content-Length``,
underscores), on the bytes peeked so far, so the main loop reads a head exactly as a request
thread would and cannot drift from it. On top of that, anything gunicorn goes on to treat
specially makes the head one the main loop leaves alone: a repeated header (joined for the
WSGI environ), a name with an underscore, ``Expect``, ``Transfer-Encoding``, ``Upgrade``.
Such a request, and any head gunicorn refuses or that is still incomplete, goes to the request
threads untouched (it was only peeked at), so the main loop never answers where gunicorn would
have said 400.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from gunicorn import SERVER
from gunicorn.http.body import LengthReader
from gunicorn.http.errors import NoMoreData, ParseException
from gunicorn.http.message import Request
from gunicorn.http.unreader import IterUnreader
from gunicorn.util import http_date, unquote_to_wsgi_str
from werkzeug.sansio.utils import get_host

from webhook_server.schemes.base import RequestUrl

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

    def get(self, name: str, default: Any = None) -> Any:
        return dict.get(self, name.lower(), default)


class FixedConfig:
    """A worker's gunicorn ``Config``, each setting read once, for ``Request``.

    ``Config`` looks a setting up through ``__getattr__`` and the setting's object on every
    read, a dozen reads per request head; a worker's settings never change (a reload starts
    new workers), so the first read of each is kept as a plain attribute. Methods are not kept.
    """

    def __init__(self, cfg: Any) -> None:
        self._cfg = cfg

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._cfg, name)
        if not callable(value):
            setattr(self, name, value)
        return value


@dataclass(frozen=True, slots=True)
class RequestHead:
    """An HTTP/1.0 or 1.1 request head at the start of the stream, complete, with its length."""

    method: str
    path: str  # as the WSGI environ's PATH_INFO: percent-decoded, what Flask routes on
    query: str
    target: str  # as sent, for the access log and the URL some senders sign
    scheme: str  # http or https: gunicorn's reading, a trusted proxy's X-Forwarded-Proto included
    minor_version: int
    length: int  # bytes to consume from the socket for the head, its blank line included
    headers: Headers
    content_length: int  # 0 without a Content-Length header, as gunicorn reads it
    should_close: bool  # gunicorn's reading of Connection and the HTTP version

    @property
    def url(self) -> RequestUrl:
        """The URL the client posted to, for the schemes that sign it (Twilio)."""
        return RequestUrl(self.scheme, self.headers.get("host", ""), self.target)


def parse(data: bytes, cfg: Any, peer: object) -> RequestHead | None:
    """The request head at the start of ``data``, read by gunicorn's ``Request`` with the worker's
    ``cfg`` (a ``FixedConfig``) for a client at ``peer``; None: incomplete, refused by gunicorn,
    or gunicorn's to handle.

    Any other exception is a surprise the caller must treat like None (main_loop.py does)."""
    if not data:
        return None
    unreader = IterUnreader((data,))  # running out of it means the head is incomplete
    try:
        request = Request(cfg, unreader, peer)
    except (ParseException, NoMoreData, StopIteration):
        return None  # refused (a request thread answers 400 or 431), or still on its way
    reader = request.body.reader
    if not isinstance(reader, LengthReader) or request.version not in ((1, 0), (1, 1)):
        return None  # a chunked body, or an unconventional version gunicorn was told to permit
    headers = Headers((name.lower(), value) for name, value in request.headers)
    if len(headers) < len(request.headers) or not _NOT_OURS.isdisjoint(headers):
        return None  # a repeated header (the WSGI environ joins them), or one gunicorn handles
    if any("_" in name for name in headers):
        return None  # a trusted proxy's SCRIPT_NAME or PATH_INFO
    if not _routable(headers.get("host")):
        return None
    return RequestHead(
        method=request.method,
        path=unquote_to_wsgi_str(request.path),
        query=request.query,
        target=request.uri,
        scheme=request.scheme,
        minor_version=request.version[1],
        length=len(data) - len(unreader.buf.getvalue()),
        headers=headers,
        content_length=reader.length,
        should_close=request.should_close(),
    )


def _routable(host: str | None) -> bool:
    """Whether Flask's routing takes this ``Host``: werkzeug binds its URL map to the host name
    encoded as IDNA, and answers 400 where that fails (an empty label, ``a..b`` or ``.0.1``; a
    label over 63 characters). Its own reading of the header comes first, as in the app."""
    if host is None:
        return True
    try:
        get_host("http", host).partition(":")[0].encode("idna")
    except UnicodeError:
        return False
    return True


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
        "REMOTE_ADDR": client_address(client),
        "HTTP_USER_AGENT": head.headers.get("user-agent"),
    }


def client_address(client: object) -> str | None:
    """The client's IP address as the access log gives it (``REMOTE_ADDR``); None for a UNIX socket."""
    return str(client[0]) if isinstance(client, tuple) else None
