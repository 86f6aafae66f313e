"""``POST /webhooks/<provider>``: read the raw body → verify → commit → 200 (or answer a handshake).

When the commit cannot happen in time and ``WEBHOOK_SPOOL_DIR`` is set, the event is written to
the local spool instead, and the 200 says ``"spooled": true`` (webhook_server.spool).

No redirects (Stripe counts a 3xx as a failed delivery), so the trailing-slash form is a
route of its own rather than Flask's redirect; no sessions, cookies or auth middleware.

The common case, a whole body with a valid signature, takes a lean path (``LeanIngest``, a WSGI
middleware in front of Flask): Flask's request context, routing, response object and hooks cost
more CPU than verifying and committing the event (bench/breakdown.py). Everything else (a
refusal, a handshake, a chunked or oversized body, a failed commit) goes on to the Flask view and
its error handlers, with the body already read handed over, so every answer but the plain 200
comes from one place.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, abort, current_app, request
from gunicorn.http.errors import ParseException
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import ClientDisconnected

from webhook_server.errors import DatabaseUnavailable
from webhook_server.inbox import IncomingEvent
from webhook_server.providers import Endpoint, Handshake, Rejected, VerifiedEvent
from webhook_server.receiver import Receiver, receiver_of
from webhook_server.serving import metrics

logger = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

ROUTE = "/webhooks/<provider_name>"
ROUTE_SLASH = ROUTE + "/"
# The lean path's failed commit, handed to the Flask view so that its error handlers answer.
STORE_FAILURE_KEY = "webhook_server.store_failure"


@bp.post(ROUTE)
@bp.post(ROUTE_SLASH)
def receive(provider_name: str) -> dict[str, bool] | dict[str, str]:
    """``provider_name`` is the endpoint's name: a built-in provider's, or one of WEBHOOK_ENDPOINTS_FILE;
    metrics are labelled with it, the row records both it and the provider (its scheme)."""
    receiver = receiver_of(current_app)
    endpoint = receiver.providers.get(provider_name)
    if endpoint is None:
        abort(404, "no such webhook endpoint")  # listing the configured ones would tell a stranger
    failure = request.environ.get(STORE_FAILURE_KEY)
    if failure is not None:
        raise failure
    with metrics.child(metrics.INGEST_SECONDS, endpoint.name).time():
        verified = endpoint.verifier.verify(read_body(receiver.settings.max_body_bytes), request.headers)
        if isinstance(verified, Handshake):
            metrics.child(metrics.EVENTS, endpoint.name, "handshake").inc()
            return verified.reply
        return store(receiver, incoming(endpoint, verified, request.headers))


WsgiApp = Any  # (environ, start_response) -> iterable of bytes


class LeanIngest:
    """WSGI middleware: a ``POST /webhooks/<provider>`` whose body arrives whole, with its
    Content-Length, is verified, committed and answered 200 here, without Flask.

    Anything else reaches ``flask_wsgi`` as it came, or, once the body has been read, with the
    body in a fresh ``wsgi.input``: the Flask view then verifies it again and gives the refusal
    or handshake answer it always gives. A commit that failed is not tried again: the view
    raises it (``STORE_FAILURE_KEY``) and the error handlers answer (503, or 500 for a bug).
    """

    def __init__(self, flask_wsgi: WsgiApp, receiver: Receiver) -> None:
        self.flask_wsgi = flask_wsgi
        self.receiver = receiver

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        found = self._endpoint(environ)
        if found is None:
            return self.flask_wsgi(environ, start_response)
        endpoint, route = found
        length = int(environ["CONTENT_LENGTH"])
        try:
            body = environ["wsgi.input"].read(length)
        except OSError:  # the connection failed: the view finds the body short and says so
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        if len(body) != length:
            return self.flask_wsgi(environ, start_response)
        started = time.perf_counter()
        try:
            headers = EnvironHeaders(environ)
            verified = endpoint.verifier.verify(body, headers)
        except Exception:  # a refusal (or a bug): the view verifies again, and answers and times it
            return self.flask_wsgi(environ, start_response)
        if isinstance(verified, Handshake):
            return self.flask_wsgi(environ, start_response)
        try:
            outcome = store(self.receiver, incoming(endpoint, verified, headers))
        except Exception as exc:  # DatabaseUnavailable (or a bug): the view raises it
            environ[STORE_FAILURE_KEY] = exc
            return self.flask_wsgi(environ, start_response)
        finally:
            metrics.child(metrics.INGEST_SECONDS, endpoint.name).observe(time.perf_counter() - started)
        reply = (json.dumps(outcome, separators=(",", ":"), sort_keys=True) + "\n").encode()  # as Flask's
        metrics.child(metrics.REQUESTS, route, "200").inc()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(reply)))])
        return [reply]

    def _endpoint(self, environ: Mapping[str, Any]) -> tuple[Endpoint, str] | None:
        """The configured endpoint and route of a POST the lean path can take whole, else None."""
        if environ.get("REQUEST_METHOD") != "POST" or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        name = environ.get("PATH_INFO", "").removeprefix("/webhooks/")
        route = ROUTE_SLASH if name.endswith("/") else ROUTE
        endpoint = self.receiver.providers.get(name.removesuffix("/"))
        length = environ.get("CONTENT_LENGTH", "")
        if (
            endpoint is None
            or not (length.isascii() and length.isdigit())
            or int(length) > self.receiver.settings.max_body_bytes
        ):
            return None
        return endpoint, route


def incoming(endpoint: Endpoint, verified: VerifiedEvent, headers: Mapping[str, str]) -> IncomingEvent:
    """The row a verified delivery becomes, for the view and the lean path alike."""
    return IncomingEvent(
        endpoint.provider,
        verified.event_id,
        verified.event_type,
        verified.payload,
        endpoint=endpoint.name,
        headers=endpoint.headers.pick(headers),
    )


def store(receiver: Receiver, event: IncomingEvent) -> dict[str, bool]:
    """Commit to Postgres, or else to the spool; a DatabaseUnavailable left over is a 503.
    Metrics are labelled with the endpoint's name (the provider's own route for built-ins)."""
    label = event.endpoint or event.provider
    try:
        duplicate = receiver.inbox.store(event)
    except DatabaseUnavailable as exc:
        if receiver.spool is None:
            raise
        duplicate = receiver.spool.put(event)  # durable before the 200
        logger.info("spooled %s %s: %s", event.provider, event.event_id, exc)
        metrics.child(metrics.EVENTS, label, "spooled").inc()
        return {"received": True, "duplicate": duplicate, "spooled": True}
    metrics.child(metrics.EVENTS, label, "duplicate" if duplicate else "stored").inc()
    return {"received": True, "duplicate": duplicate}


def read_body(limit: int) -> bytes:
    """The exact bytes that were signed, or a 413 / 400.

    werkzeug stops a chunked body at ``MAX_CONTENT_LENGTH`` without an error; that is one byte
    over ``limit`` (create_app), so a chunked body of exactly ``limit`` bytes is served and a
    longer one is refused. A body that ends early (the client left, or was too slow:
    gthread_worker) or whose chunked framing is broken is refused here, before a provider would
    call it a bad signature.
    """
    if request.content_length is not None and request.content_length > limit:
        abort(413)  # before reading any of it
    try:
        body = request.get_data(cache=False)
    except ClientDisconnected:
        raise Rejected("body_incomplete", "the connection failed or ended before the body did") from None
    except ParseException as exc:  # gunicorn's reader of chunked bodies; its text quotes the body
        raise Rejected("body_malformed", f"the chunked body is malformed ({type(exc).__name__})") from None
    if len(body) > limit:
        abort(413)
    if request.content_length is not None and len(body) < request.content_length:
        # gunicorn marks its input as terminated, so werkzeug takes an early end as the end.
        raise Rejected("body_incomplete", f"the body ended after {len(body)} of {request.content_length} bytes")
    return body
