"""Handlers for the endpoint test: each run records which handler saw which endpoint and headers."""

from __future__ import annotations

import json
import os

import psycopg

from webhook_server.handlers import Event, handles


def _record(handler: str, event: Event) -> None:
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(
            "INSERT INTO endpoint_runs (handler, event_id, endpoint, headers) VALUES (%s, %s, %s, %s)",
            (handler, event.event_id, event.endpoint, json.dumps(event.headers)),
        )


@handles("stripe", "invoice.paid")
def every_account(event: Event) -> None:
    _record("every_account", event)


@handles("stripe", "invoice.paid", endpoint="stripe-eu")
def eu_only(event: Event) -> None:
    _record("eu_only", event)
