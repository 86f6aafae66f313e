"""The ingest core: a verified delivery becomes a row, committed (or spooled) before its 200.

Flask-free, so that both callers share it: the Flask view (webhooks.py) for every request a
thread serves, and the worker's main loop (main_loop.py, through ``DirectIngest``) for a whole,
validly signed delivery, answered with no request thread and no Flask: Flask's request context,
routing and response object, and gthread's hand-off to a thread and back, cost more CPU than
verifying and committing the event (bench/breakdown.py). The main loop leaves everything else
(a refusal, a handshake, a chunked, partial or oversized body, a failed commit) to the view,
so every answer but the plain 200 comes from one place.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from webhook_server.endpoints import Endpoint
from webhook_server.errors import DatabaseUnavailable
from webhook_server.inbox import IncomingEvent, Pending
from webhook_server.schemes import Handshake, VerifiedEvent
from webhook_server.schemes.base import RequestUrl
from webhook_server.web import metrics
from webhook_server.web.raw_http import json_payload
from webhook_server.web.receiver import Receiver

logger = logging.getLogger(__name__)

# The delivery routes: /webhooks/<endpoint's name>, with or without a trailing slash (a redirect
# would be a failed delivery to Stripe). As Flask's rules, the metrics' route labels.
PREFIX = "/webhooks/"
ROUTE = PREFIX + "<endpoint_name>"
ROUTE_SLASH = ROUTE + "/"


@dataclass(slots=True)
class Delivery:
    """A verified delivery the main loop commits through the inbox's writer."""

    endpoint: Endpoint
    route: str  # the metrics' route label, as Flask's rule would be
    event: IncomingEvent
    started: float  # perf_counter() before verifying, for webhook_ingest_duration_seconds
    pending: Pending | None = None  # once submitted


class DirectIngest:
    """The plain 200 of a ``POST /webhooks/<endpoint>`` whose whole body is at hand, without Flask.

    The worker's main loop reads the request, ``take`` verifies it, ``submit`` hands the event to
    the inbox's writer, and once the writer has settled it ``answer`` gives the 200's body. When
    ``take`` returns None, or the commit failed (``answer`` returns None), the request goes to
    the Flask view as it came, which verifies it again and answers as it always does; a failed
    commit is not tried twice (``Inbox.remember_failure``).
    """

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def take(self, path: str, url: RequestUrl, headers: Mapping[str, str], body: bytes) -> Delivery | None:
        """The verified delivery to commit, or None: a refusal, a handshake, an unknown endpoint,
        a body over the limit, a database known to be down, or an event whose sender needs
        another answer than the plain 200 (Discord's deferral); all of them Flask's to answer."""
        if not path.startswith(PREFIX) or not self.receiver.inbox.circuit_closed:
            return None
        name = path[len(PREFIX) :]
        route = ROUTE_SLASH if name.endswith("/") else ROUTE
        endpoint = self.receiver.endpoints.get(name.removesuffix("/"))
        if endpoint is None or len(body) > self.receiver.settings.max_body_bytes:
            return None
        started = time.perf_counter()
        try:
            verified = endpoint.verifier.verify(body, headers, url)
        except Exception:  # a refusal (or a bug): the view verifies again, and answers and counts it
            return None
        if isinstance(verified, Handshake) or verified.reply is not None:
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
        metrics.of_endpoint(metrics.INGEST_SECONDS, name).observe(time.perf_counter() - delivery.started)
        if pending.error is not None:
            self.receiver.inbox.remember_failure(pending)
            return None
        metrics.of_endpoint(metrics.EVENTS, name, "duplicate" if pending.duplicate else "stored").inc()
        metrics.child(metrics.REQUESTS, delivery.route, "200").inc()
        return STORED_REPLIES[pending.duplicate]


def incoming(endpoint: Endpoint, verified: VerifiedEvent, headers: Mapping[str, str]) -> IncomingEvent:
    """The row a verified delivery becomes, for the view and the main loop (DirectIngest) alike."""
    return IncomingEvent(
        endpoint.scheme,
        verified.event_id,
        verified.event_type,
        verified.payload,
        endpoint=endpoint.name,
        headers=endpoint.headers.pick(headers),
        document=verified.document,
    )


# The view's answer to a committed event, new or a duplicate, serialized as Flask's jsonify does.
STORED_REPLIES = {duplicate: json_payload({"received": True, "duplicate": duplicate}) for duplicate in (False, True)}


def store(receiver: Receiver, event: IncomingEvent) -> dict[str, bool]:
    """Commit to Postgres, or else to the spool; a DatabaseUnavailable left over is a 503.
    Metrics are labelled with the endpoint's name (the scheme's own route for built-ins)."""
    label = event.endpoint or event.scheme
    try:
        duplicate = receiver.inbox.store(event)
    except DatabaseUnavailable as exc:
        if receiver.spool is None:
            raise
        duplicate = receiver.spool.put(event)  # durable before the 200
        logger.info("spooled %s %s: %s", event.scheme, event.event_id, exc)
        metrics.of_endpoint(metrics.EVENTS, label, "spooled").inc()
        return {"received": True, "duplicate": duplicate, "spooled": True}
    metrics.of_endpoint(metrics.EVENTS, label, "duplicate" if duplicate else "stored").inc()
    return {"received": True, "duplicate": duplicate}
