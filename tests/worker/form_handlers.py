"""Handlers for the form test: each run records the payload a Twilio or SendGrid handler got."""

from __future__ import annotations

import json
import os

import psycopg

from webhook_server.handlers import Event, handles


def _record(event: Event) -> None:
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(
            "INSERT INTO form_runs (scheme, event_id, payload) VALUES (%s, %s, %s)",
            (event.scheme, event.event_id, json.dumps(event.payload)),
        )


@handles("twilio", "message.received")
def incoming_message(event: Event) -> None:
    _record(event)


@handles("sendgrid", "delivered")
def delivered(event: Event) -> None:
    _record(event)
