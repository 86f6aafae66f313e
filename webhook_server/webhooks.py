"""``POST /webhooks/<provider>``: read the raw body → verify → commit → 200 (or answer a handshake).

No redirects (Stripe counts a 3xx as a failed delivery), so the trailing-slash form is a
route of its own rather than Flask's redirect; no sessions, cookies or auth middleware.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, request

from webhook_server import metrics, receiver_of
from webhook_server.inbox import IncomingEvent
from webhook_server.providers import Handshake

bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/<provider_name>")
@bp.post("/webhooks/<provider_name>/")
def receive(provider_name: str) -> dict[str, bool] | dict[str, str]:
    receiver = receiver_of(current_app)
    provider = receiver.providers.get(provider_name)
    if provider is None:
        abort(404, f"no provider {provider_name!r} is configured here; configured: {', '.join(receiver.providers)}")
    with metrics.INGEST_SECONDS.labels(provider.name).time():
        verified = provider.verify(read_body(receiver.settings.max_body_bytes), request.headers)
        if isinstance(verified, Handshake):
            metrics.EVENTS.labels(provider.name, "handshake").inc()
            return verified.reply
        duplicate = receiver.inbox.store(
            IncomingEvent(provider.name, verified.event_id, verified.event_type, verified.payload)
        )
    metrics.EVENTS.labels(provider.name, "duplicate" if duplicate else "stored").inc()
    return {"received": True, "duplicate": duplicate}


def read_body(limit: int) -> bytes:
    """The exact bytes that were signed, or a 413.

    werkzeug answers 413 from Content-Length before reading anything, but it stops a chunked
    body at the limit without an error; the cut body would then fail as a bad signature.
    A chunked body that reaches the limit is taken as over it (the two cannot be told apart).
    """
    body = request.get_data(cache=False)
    if request.content_length is None and len(body) >= limit:
        abort(413)
    return body
