"""A Twilio form and a SendGrid batch reach their handlers as JSON objects: the form's fields,
the batch as ``{"events": [...]}``, the same object the ``payload`` column holds; from a real
gunicorn to a real worker."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import psycopg
import requests

from tests.harness.gunicorn import GunicornServer
from tests.worker.conftest import WorkerProcess, query, wait_for
from webhook_server.dev.senders import sendgrid, twilio

TOKEN = "twilio-token-for-the-worker"
SENDGRID_KEY = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"
ENDPOINTS = """
[endpoints.sms]
scheme = "twilio"
secret_env = "SMS_TOKEN"

[endpoints.mail]
scheme = "sendgrid"
secret_env = "MAIL_KEY"
"""


def test_handlers_get_a_form_as_its_fields_and_a_batch_as_its_events(
    worker_db: str,
    start_server: Callable[..., GunicornServer],
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    with psycopg.connect(worker_db, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS form_runs")
        conn.execute("CREATE TABLE form_runs (scheme text, event_id text, payload jsonb)")
    (tmp_path / "endpoints.toml").write_text(ENDPOINTS)
    server = start_server(
        WEBHOOK_ENDPOINTS_FILE=str(tmp_path / "endpoints.toml"),
        SMS_TOKEN=TOKEN,
        MAIL_KEY=sendgrid.public_key(SENDGRID_KEY),
    )
    start_worker(WEBHOOK_HANDLER_MODULES="tests.worker.form_handlers")
    form = twilio.sample(TOKEN, "message.received", None, server.url("/webhooks/sms"))
    batch = sendgrid.sample(SENDGRID_KEY, "delivered", None, "")
    for path, sample in (("/webhooks/sms", form), ("/webhooks/mail", batch)):
        response = requests.post(server.url(path), data=sample.body, headers=sample.headers, timeout=10)
        assert response.status_code == 200, response.text

    def runs() -> list[tuple]:
        return query(worker_db, "SELECT scheme, event_id, payload FROM form_runs ORDER BY scheme")

    wait_for(lambda: len(runs()) == 2, 20, "both events handled")
    stored = dict(query(worker_db, "SELECT provider, payload FROM webhook_events"))
    (mail, mail_id, mail_payload), (sms, sms_id, sms_payload) = runs()
    assert (mail, mail_id, sms, sms_id) == ("sendgrid", batch.event_id, "twilio", form.event_id)
    assert sms_payload == stored["twilio"] and sms_payload["Body"] == "Hello from webhook-server ✓"
    assert mail_payload == stored["sendgrid"] == {"events": json.loads(batch.body)}
