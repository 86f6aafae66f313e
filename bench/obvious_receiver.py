"""The obvious Stripe receiver, written from Stripe's docs: what bench/ingest.py measures us against.

Flask, ``stripe.Webhook.construct_event`` on the raw body, a ``psycopg_pool`` connection in
autocommit, one ``INSERT … ON CONFLICT DO NOTHING`` per request into the same ``webhook_events``
table (same indexes and trigger as ours; since the table is partitioned by day, that no longer
dedupes: the key table that does is ours), served by gunicorn gthread 2 workers x 8 threads with
gunicorn's defaults (no access log, no metrics). The payload goes in as the body's text and
Postgres parses it: the cheaper of the two obvious ways (the other re-serializes the SDK's object).

    DATABASE_URL=... STRIPE_WEBHOOK_SECRET=... gunicorn -k gthread -w 2 --threads 8 \\
        --chdir bench obvious_receiver:app

Nothing here is shipped; it is a yardstick, kept as plain as its model.
"""

from __future__ import annotations

import os

import stripe
from flask import Flask, abort, request
from psycopg_pool import ConnectionPool

app = Flask(__name__)
endpoint_secret = os.environ["STRIPE_WEBHOOK_SECRET"]
# gunicorn imports the app in each worker after the fork (no preload), so each opens its own pool.
pool = ConnectionPool(os.environ["DATABASE_URL"], kwargs={"autocommit": True}, open=True)

INSERT = """
INSERT INTO webhook_events (provider, event_id, event_type, payload)
VALUES ('stripe', %s, %s, %s::jsonb)
ON CONFLICT DO NOTHING
"""


@app.post("/webhooks/stripe")
def webhook() -> dict[str, bool]:
    payload = request.get_data(as_text=True)
    try:
        event = stripe.Webhook.construct_event(payload, request.headers.get("Stripe-Signature"), endpoint_secret)
    except (ValueError, stripe.SignatureVerificationError):
        abort(400)
    with pool.connection() as conn:
        conn.execute(INSERT, (event["id"], event["type"], payload))
    return {"received": True}


@app.get("/health")
def health() -> str:
    return "ok"
