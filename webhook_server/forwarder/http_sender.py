"""One HTTP attempt to a destination: the stored body, signed with the destination's secret.

Each sender thread owns one ``http.client`` connection to its destination and keeps it alive
between attempts, so a busy destination costs one TLS handshake per thread, not one per event.
``http.client`` never follows a redirect: a 3xx is an answer like any other, and a failure (the
destination moved; its operator should change the URL, not have us guess).

Bounds, so that a destination can cost us time and memory only up to its settings:
- connecting waits at most ``connect_timeout``; every later socket operation at most what is left
  of ``timeout``, and ``abort()`` (called by the dispatcher when the attempt's deadline passes)
  shuts the socket down, so a server that trickles a byte a second cannot hold the thread longer;
- at most ``RESPONSE_KEEP_BYTES`` of the response body are read; a connection whose response was
  not read to its end is closed, never reused (the rest is never downloaded);
- TLS is verified against the system's CAs or the destination's ``ca_file``, host name included.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import standardwebhooks

from webhook_server.destinations_file import DestinationSpec

# What is kept of a response for the history: enough for an error message, never a download.
RESPONSE_KEEP_BYTES = 2048
USER_AGENT = "webhook-server-forwarder"
# Retry-After beyond this is not believed (a year in seconds from a confused server).
RETRY_AFTER_MAX_SECONDS = 7 * 86400.0


@dataclass(frozen=True)
class Message:
    """What is sent for one delivery: the same bytes and id on every attempt."""

    webhook_id: str
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Result:
    """What one attempt came to."""

    delivered: bool
    latency: float
    status: int | None = None
    response: bytes = b""  # its first RESPONSE_KEEP_BYTES
    error: str | None = None  # why it failed, for the history; None when delivered
    retry_after: float | None = None  # seconds the destination asked us to wait
    dropped: bool = False  # the destination's transform dropped the event: nothing was sent


def tls_context(spec: DestinationSpec) -> ssl.SSLContext:
    """The destination's TLS settings: verified, host name checked, its own CA when it has one."""
    return ssl.create_default_context(cafile=spec.ca_file)


class HttpSender:
    """One thread's connection to one destination; ``abort`` is the only method another thread calls."""

    def __init__(self, spec: DestinationSpec, context: ssl.SSLContext | None) -> None:
        parts = urlsplit(spec.url)
        self._spec = spec
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._host_header = parts.netloc
        self._context = context
        self._signer = standardwebhooks.Webhook(spec.secret)
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self._aborted = False
        self._reused = False

    def send(self, message: Message) -> Result:
        """Post the message once; never raises for anything the destination or the network does."""
        started = time.monotonic()
        deadline = started + self._spec.timeout
        with self._lock:
            self._aborted = False
        try:
            try:
                status, reason, head, response, retry_after = self._exchange(message, deadline)
            except _STALE:
                if not self._reused:
                    raise
                # A kept-alive connection the server had closed meanwhile: once more on a new one.
                self.close()
                status, reason, head, response, retry_after = self._exchange(message, deadline)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self.close()
            return Result(False, time.monotonic() - started, error=self._describe(exc, started))
        latency = time.monotonic() - started
        if 200 <= status < 300:
            return Result(True, latency, status, response)
        error = f"HTTP {status} {reason}".strip()
        if 300 <= status < 400:
            error += f" (a redirect, not followed: Location {head.get('location', '(none)')!r}; fix the url)"
        return Result(False, latency, status, response, error, retry_after)

    def abort(self) -> None:
        """From the dispatcher: the attempt ran past its deadline; make its blocking call return now."""
        with self._lock:
            self._aborted = True
            conn = self._conn
            sock = conn.sock if conn is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: the attempt is ending anyway
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _exchange(self, message: Message, deadline: float) -> tuple[int, str, dict[str, str], bytes, float | None]:
        conn = self._connection()
        self._reused = conn.sock is not None
        if not self._reused:
            conn.timeout = min(self._spec.connect_timeout, _left(deadline))
            conn.connect()
            # Headers and body go out in two writes: without this, Nagle holds the body back for
            # the server's delayed ACK, 40 ms on every attempt over a kept-alive connection.
            _socket(conn).setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _socket(conn).settimeout(_left(deadline))
        headers = self._headers(message)
        conn.request("POST", self._target, body=message.body, headers=headers)
        _remaining(conn, deadline)
        response = conn.getresponse()
        head = {name.lower(): value for name, value in response.getheaders()}
        _remaining(conn, deadline)
        kept = response.read(RESPONSE_KEEP_BYTES)
        if not response.isclosed() or response.will_close:
            self.close()  # unread bytes left, or the server closes: never reuse it
        with self._lock:
            aborted = self._aborted
        if aborted:  # the shut-down socket reads as an end of headers: the answer is cut, not given
            self.close()
            raise TimeoutError("the attempt ran past its timeout")
        return response.status, response.reason, head, kept, retry_after(head.get("retry-after"))

    def _headers(self, message: Message) -> dict[str, str]:
        now = datetime.now(UTC)
        headers = dict(message.headers)
        headers.update(
            {
                "Host": self._host_header,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "webhook-id": message.webhook_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": self._signer.sign(message.webhook_id, now, message.body),
            }
        )
        return headers

    def _connection(self) -> http.client.HTTPConnection:
        with self._lock:
            if self._aborted:
                raise TimeoutError("the attempt ran past its timeout")
            if self._conn is None:
                if self._https:
                    self._conn = http.client.HTTPSConnection(self._host, self._port, context=self._context)
                else:
                    self._conn = http.client.HTTPConnection(self._host, self._port)
            return self._conn

    def _describe(self, exc: BaseException, started: float) -> str:
        with self._lock:
            aborted = self._aborted
        elapsed = time.monotonic() - started
        if aborted or isinstance(exc, TimeoutError | socket.timeout):
            limits = f"timeout {self._spec.timeout:g} s, connect {self._spec.connect_timeout:g} s"
            return f"timed out after {elapsed:.1f} s ({limits})"
        if isinstance(exc, ConnectionRefusedError):
            return f"connection refused by {self._host}:{self._port}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted: {exc.verify_message}; set ca_file to the CA that signed it"
        return f"{type(exc).__name__}: {exc}"[:500]


# What a request on a kept-alive connection meets when the server closed it while it was idle.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the attempt ran past its timeout")
    return left


def _socket(conn: http.client.HTTPConnection) -> socket.socket:
    """The connected socket (http.client types it as optional)."""
    sock: socket.socket | None = conn.sock
    if sock is None:
        raise ConnectionResetError("the connection closed")
    return sock


def _remaining(conn: http.client.HTTPConnection, deadline: float) -> None:
    if conn.sock is not None:
        conn.sock.settimeout(_left(deadline))


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` value (a number of seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit() and len(value) <= 10:
        return min(float(value), RETRY_AFTER_MAX_SECONDS)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, min((moment - datetime.now(UTC)).total_seconds(), RETRY_AFTER_MAX_SECONDS))
