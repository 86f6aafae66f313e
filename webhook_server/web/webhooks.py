"""``POST /webhooks/<endpoint>``: read the raw body → verify → commit → 200 (or answer a handshake).

When the commit cannot happen in time and ``WEBHOOK_SPOOL_DIR`` is set, the event is written to
the local spool instead, and the 200 says ``"spooled": true`` (webhook_server.spool).

No redirects (Stripe counts a 3xx as a failed delivery), so the trailing-slash form is a
route of its own rather than Flask's redirect; no sessions, cookies or auth middleware.

The common case, a whole body with a valid signature, is answered without Flask or a request
thread by the worker's main loop, through the same ingest core (ingest.py); everything else
reaches this view as it came.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, cast

from flask import Blueprint, Response, abort, current_app, request
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import ClientDisconnected

from webhook_server.schemes import Handshake, Rejected
from webhook_server.schemes.base import RequestUrl
from webhook_server.web import metrics
from webhook_server.web.ingest import ROUTE, ROUTE_SLASH, incoming, store
from webhook_server.web.receiver import receiver_of

logger = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)


@bp.post(ROUTE)
@bp.post(ROUTE_SLASH)
def receive(endpoint_name: str) -> Mapping[str, object] | Response:
    """``endpoint_name`` is the endpoint's name: a built-in endpoint's, or one of WEBHOOK_ENDPOINTS_FILE;
    metrics are labelled with it, the row records both it and its scheme."""
    receiver = receiver_of(current_app)
    endpoint = receiver.endpoints.get(endpoint_name)
    if endpoint is None:
        abort(404, "no such webhook endpoint")  # listing the configured ones would tell a stranger
    # werkzeug's headers read as a Mapping does (get, [], in, any case), though not declared one.
    headers = cast(Mapping[str, str], request.headers)
    with metrics.of_endpoint(metrics.INGEST_SECONDS, endpoint.name).time():
        body = read_body(receiver.settings.max_body_bytes)
        verified = endpoint.verifier.verify(body, headers, request_url(request.environ))
        if isinstance(verified, Handshake):
            metrics.of_endpoint(metrics.EVENTS, endpoint.name, "handshake").inc()
            return handshake_answer(verified.reply)
        stored = store(receiver, incoming(endpoint, verified, headers))
        return stored if verified.reply is None else verified.reply


def handshake_answer(reply: Mapping[str, object] | str | None) -> Mapping[str, object] | Response:
    """A handshake's JSON, its text as text/plain (never Flask's default text/html), or a 204."""
    if reply is None:
        return Response(status=204)
    if isinstance(reply, str):
        return Response(reply, mimetype="text/plain")
    return reply


def request_url(environ: Mapping[str, Any]) -> RequestUrl:
    """The URL the sender posted to: gunicorn's scheme (a trusted proxy's X-Forwarded-Proto), the
    Host header, and the target as sent (gunicorn's RAW_URI; else the path and query)."""
    query = environ.get("QUERY_STRING", "")
    target = environ.get("RAW_URI") or environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
    return RequestUrl(environ["wsgi.url_scheme"], environ.get("HTTP_HOST", ""), target)


def read_body(limit: int) -> bytes:
    """The exact bytes that were signed, or a 413 / 400.

    werkzeug stops a chunked body at ``MAX_CONTENT_LENGTH`` without an error; that is one byte
    over ``limit`` (create_app), so a chunked body of exactly ``limit`` bytes is served and a
    longer one is refused. A body that ends early (the client left, or was too slow:
    gthread_worker) or whose chunked framing is broken is refused here, before a verifier would
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
