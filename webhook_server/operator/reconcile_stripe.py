"""Fetch what the webhooks missed from the sender's own record: Stripe's Events API.

Every event Stripe lists is offered to the inbox through the same idempotent insert as ingest,
so an event the inbox has is counted as already present, an event it lacks is stored as
``pending`` for the workers, and a webhook delivery that arrives later is a duplicate 200.
Running it twice stores nothing the second time.

The payload stored is each event's JSON from the API response body (parsed once, not turned
into SDK objects and back), which is the object a webhook delivers. Like ingest, it stores every
event, also one whose JSON jsonb cannot hold (its body only: inbox.insert_events).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
import stripe
from stripe.params import EventListParams

from webhook_server.inbox import IncomingEvent, insert_events
from webhook_server.schemes.stripe import StripeVerifier

# Stripe keeps events for 30 days; asking for older ones finds nothing.
STRIPE_RETENTION = timedelta(days=30)
# The most Stripe returns per page, and the most event types one listing may filter on.
PAGE_SIZE = 100
MAX_TYPES = 20
# Each HTTP request to Stripe, including the SDK's own retries of 429s, 5xx and resets.
HTTP_TIMEOUT_SECONDS = 30
NETWORK_RETRIES = 2


@dataclass
class ReconcileResult:
    found: int = 0
    inserted: int = 0

    @property
    def already_present(self) -> int:
        return self.found - self.inserted

    def as_dict(self) -> dict[str, Any]:
        return {"found": self.found, "inserted": self.inserted, "already_present": self.already_present}


def stripe_client(api_key: str, *, api_base: str | None = None) -> stripe.StripeClient:
    """A client with bounded requests; ``api_base`` points it elsewhere (stripe-mock, a test double)."""
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        http_client=stripe.RequestsClient(timeout=HTTP_TIMEOUT_SECONDS),
        max_network_retries=NETWORK_RETRIES,
    )


def stripe_event_pages(
    client: stripe.StripeClient, *, since: datetime, undelivered_only: bool = False, types: Sequence[str] = ()
) -> Iterator[list[dict[str, Any]]]:
    """Each page of events created at or after ``since``, newest first, as the API's JSON.

    ``undelivered_only`` asks Stripe for events not yet delivered to at least one endpoint
    (``delivery_success=false``): the ones it is still retrying or gave up on. ``types`` (at
    most MAX_TYPES) limits the listing to those event types, e.g. the endpoint's enabled events.
    """
    params: EventListParams = {"limit": PAGE_SIZE, "created": {"gte": int(since.timestamp())}}
    if undelivered_only:
        params["delivery_success"] = False
    if types:
        params["types"] = list(types)
    page = client.v1.events.list(params=params)
    while True:
        body = page.last_response.data if page.last_response else None
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise stripe.APIError(f"the Events API answered something other than a list: {body!r:.200}")
        yield body["data"]
        if not page.has_more:
            return
        page = page.next_page()


def reconcile_stripe(
    conn: psycopg.Connection,
    client: stripe.StripeClient,
    *,
    since: datetime,
    undelivered_only: bool = False,
    types: Sequence[str] = (),
    endpoint: str = StripeVerifier.name,
) -> ReconcileResult:
    """Insert every event Stripe lists since ``since`` that the inbox lacks; one statement a page.

    ``endpoint`` is recorded as the endpoint of the events stored (the one whose account was listed).
    """
    result = ReconcileResult()
    for page in stripe_event_pages(client, since=since, undelivered_only=undelivered_only, types=types):
        events = [
            IncomingEvent(StripeVerifier.name, e["id"], e["type"], json.dumps(e), endpoint=endpoint) for e in page
        ]
        result.found += len(events)
        result.inserted += len(insert_events(conn, events))
    return result
