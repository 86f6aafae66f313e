"""``POST /webhooks/<provider>``: read the raw body → verify → commit → 200 (or answer a handshake).

When the commit cannot happen in time and ``WEBHOOK_SPOOL_DIR`` is set, the event is written to
the local spool instead, and the 200 says ``"spooled": true`` (webhook_server.spool).

No redirects (Stripe counts a 3xx as a failed delivery), so the trailing-slash form is a
route of its own rather than Flask's redirect; no sessions, cookies or auth middleware.

The common case, a whole body with a valid signature, is answered without Flask or a request
thread (``DirectIngest``, driven by the worker's main loop: serving/main_loop.py): Flask's
request context, routing and response object, and gthread's hand-off to a thread and back, cost
more CPU than verifying and committing the event (bench/breakdown.py). Everything else (a
refusal, a handshake, a chunked, partial or oversized body, a failed commit) reaches the Flask
view as it came, so every answer but the plain 200 comes from one place.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

from flask import Blueprint, abort, current_app, request
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import ClientDisconnected

from webhook_server.errors import DatabaseUnavailable
from webhook_server.inbox import IncomingEvent, Pending
from webhook_server.providers import Endpoint, Handshake, Rejected, VerifiedEvent
from webhook_server.receiver import Receiver, receiver_of
from webhook_server.serving import metrics
from webhook_server.serving.raw_http import json_payload

logger = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

PREFIX = "/webhooks/"
ROUTE = PREFIX + "<provider_name>"
ROUTE_SLASH = ROUTE + "/"


@bp.post(ROUTE)
@bp.post(ROUTE_SLASH)
def receive(provider_name: str) -> dict[str, bool] | dict[str, str]:
    """``provider_name`` is the endpoint's name: a built-in provider's, or one of WEBHOOK_ENDPOINTS_FILE;
    metrics are labelled with it, the row records both it and the provider (its scheme)."""
    receiver = receiver_of(current_app)
    endpoint = receiver.providers.get(provider_name)
    if endpoint is None:
        abort(404, "no such webhook endpoint")  # listing the configured ones would tell a stranger
    # werkzeug's headers read as a Mapping does (get, [], in, any case), though not declared one.
    headers = cast(Mapping[str, str], request.headers)
    with metrics.child(metrics.INGEST_SECONDS, endpoint.name).time():
        verified = endpoint.verifier.verify(read_body(receiver.settings.max_body_bytes), headers)
        if isinstance(verified, Handshake):
            metrics.child(metrics.EVENTS, endpoint.name, "handshake").inc()
            return verified.reply
        return store(receiver, incoming(endpoint, verified, headers))


@dataclass(slots=True)
class Delivery:
    """A verified delivery the main loop commits through the inbox's writer."""

    endpoint: Endpoint
    route: str  # the metrics' route label, as Flask's rule would be
    event: IncomingEvent
    started: float  # perf_counter() before verifying, for webhook_ingest_duration_seconds
    pending: Pending | None = None  # once submitted


class DirectIngest:
    """The plain 200 of a ``POST /webhooks/<provider>`` whose whole body is at hand, without Flask.

    The worker's main loop reads the request, ``take`` verifies it, ``submit`` hands the event to
    the inbox's writer, and once the writer has settled it ``answer`` gives the 200's body. When
    ``take`` returns None, or the commit failed (``answer`` returns None), the request goes to
    the Flask view as it came, which verifies it again and answers as it always does; a failed
    commit is not tried twice (``Inbox.remember_failure``).
    """

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def take(self, path: str, headers: Mapping[str, str], body: bytes) -> Delivery | None:
        """The verified delivery to commit, or None: a refusal, a handshake, an unknown endpoint,
        a body over the limit, or a database known to be down; all of them Flask's to answer."""
        if not path.startswith(PREFIX) or not self.receiver.inbox.circuit_closed:
            return None
        name = path[len(PREFIX) :]
        route = ROUTE_SLASH if name.endswith("/") else ROUTE
        endpoint = self.receiver.providers.get(name.removesuffix("/"))
        if endpoint is None or len(body) > self.receiver.settings.max_body_bytes:
            return None
        started = time.perf_counter()
        try:
            verified = endpoint.verifier.verify(body, headers)
        except Exception:  # a refusal (or a bug): the view verifies again, and answers and counts it
            return None
        if isinstance(verified, Handshake):
            return None
        return Delivery(endpoint, route, incoming(endpoint, verified, headers), started)

    def submit(self, delivery: Delivery, on_settled: Callable[[], object]) -> Pending:
        """Queue the event for the next group commit; raises CircuitOpen if the database just went down."""
        delivery.pending = self.receiver.inbox.submit(delivery.event, on_settled)
        return delivery.pending

    def expire(self, pending: Pending) -> None:
        """Fail a submitted event whose deadline has passed with no commit (``Inbox.expire``)."""
        self.receiver.inbox.expire(pending)

    def answer(self, delivery: Delivery) -> bytes | None:
        """The 200's JSON once committed, counted as the view counts it; None if the commit failed."""
        pending = delivery.pending
        assert pending is not None and pending.settled
        name = delivery.endpoint.name
        metrics.child(metrics.INGEST_SECONDS, name).observe(time.perf_counter() - delivery.started)
        if pending.error is not None:
            self.receiver.inbox.remember_failure(pending)
            return None
        metrics.child(metrics.EVENTS, name, "duplicate" if pending.duplicate else "stored").inc()
        metrics.child(metrics.REQUESTS, delivery.route, "200").inc()
        return STORED_REPLIES[pending.duplicate]


def incoming(endpoint: Endpoint, verified: VerifiedEvent, headers: Mapping[str, str]) -> IncomingEvent:
    """The row a verified delivery becomes, for the view and the main loop (DirectIngest) alike."""
    return IncomingEvent(
        endpoint.provider,
        verified.event_id,
        verified.event_type,
        verified.payload,
        endpoint=endpoint.name,
        headers=endpoint.headers.pick(headers),
    )


# The view's answer to a committed event, new or a duplicate, serialized as Flask's jsonify does.
STORED_REPLIES = {duplicate: json_payload({"received": True, "duplicate": duplicate}) for duplicate in (False, True)}


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
