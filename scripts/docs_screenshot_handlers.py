"""The handlers behind the docs' dashboard screenshots (scripts/docs_screenshots.py): most events
succeed, a failed-payment type raises the way a real downstream failure would, and payout.paid,
with no handler, is skipped, so every state the dashboard shows has something in it."""

from __future__ import annotations

from webhook_server.handlers import Event, handles


@handles("stripe", "payment_intent.succeeded")
@handles("stripe", "invoice.paid")
@handles("stripe", "customer.created")
@handles("github", "*")
@handles("shopify", "*")
def record(event: Event) -> None:
    """Done: what a handler that did its work returns."""


@handles("stripe", "invoice.payment_failed")
def notify_billing(event: Event) -> None:
    raise ConnectionError("billing answered 503 Service Unavailable while posting the dunning notice")
