"""An endpoint of a named scheme may name its own dedupe key (``event_id`` in its table), read
after the scheme's verifier accepted the delivery: from the body (a form's fields too) or a header."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from werkzeug.datastructures import Headers

from webhook_server.dev.senders import twilio, zoom
from webhook_server.endpoints import configured
from webhook_server.errors import ConfigError
from webhook_server.schemes import Handshake, Rejected
from webhook_server.schemes.base import RequestUrl
from webhook_server.settings import Settings

FILE = """
[endpoints.meetings]
scheme = "zoom"
secret_env = "ZOOM_SECRET"
event_id = "json:payload.object.uuid"

[endpoints.sms]
scheme = "twilio"
secret_env = "TWILIO_SECRET"
event_id = ["json:MessageSid", "header:X-Message-Sid"]
"""
URL = RequestUrl("https", "example.com", "/webhooks/sms")


def endpoints_of(tmp_path: Path, text: str = FILE):
    path = tmp_path / "endpoints.toml"
    path.write_text(text)
    environ = {"DATABASE_URL": "postgresql://db/x", "WEBHOOK_ENDPOINTS_FILE": str(path)}
    return configured(Settings.from_env(environ | {"ZOOM_SECRET": "z", "TWILIO_SECRET": "t"}))


def test_a_named_key_replaces_the_schemes_id(tmp_path: Path) -> None:
    meetings = endpoints_of(tmp_path)["meetings"].verifier
    first = zoom.sample("z", "meeting.started", None, "")
    uuid = json.loads(first.body)["payload"]["object"]["uuid"]
    assert meetings.verify(first.body, Headers(first.headers)).event_id == uuid
    # The same meeting's event resent with another event_ts: a new body, the same key.
    document = json.loads(first.body) | {"event_ts": 1}
    body = json.dumps(document).encode()
    assert meetings.verify(body, Headers(zoom.headers(body, "z"))).event_id == uuid


def test_a_forms_field_and_a_header_that_must_agree(tmp_path: Path) -> None:
    sms = endpoints_of(tmp_path)["sms"].verifier
    sample = twilio.sample("t", "message.received", None, str(URL))
    sid = dict(parse_qsl(sample.body.decode()))["MessageSid"]
    event = sms.verify(sample.body, Headers(sample.headers | {"X-Message-Sid": sid}), URL)
    assert (event.event_id, event.event_type) == (sid, "message.received")
    with pytest.raises(Rejected) as caught:
        sms.verify(sample.body, Headers(sample.headers | {"X-Message-Sid": "SMother"}), URL)
    assert caught.value.reason == "event_mismatch"
    with pytest.raises(Rejected) as caught:
        sms.verify(sample.body, Headers(sample.headers), URL)
    assert caught.value.reason == "header_missing"


def test_handshakes_and_refusals_are_the_schemes(tmp_path: Path) -> None:
    meetings = endpoints_of(tmp_path)["meetings"].verifier
    body = json.dumps({"payload": {"plainToken": "p"}, "event": "endpoint.url_validation"}).encode()
    assert isinstance(meetings.verify(body, Headers(zoom.headers(body, "z"))), Handshake)
    with pytest.raises(Rejected) as caught:
        meetings.verify(body, Headers(zoom.headers(body, "wrong")))
    assert caught.value.reason == "signature_invalid"
    unkeyed = json.dumps({"event": "meeting.started", "payload": {}}).encode()
    with pytest.raises(Rejected) as caught:
        meetings.verify(unkeyed, Headers(zoom.headers(unkeyed, "z")))
    assert caught.value.reason == "event_malformed"


def test_a_key_that_is_not_a_header_or_a_path_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="event_id"):
        endpoints_of(tmp_path, '[endpoints.m]\nscheme = "zoom"\nsecret_env = "ZOOM_SECRET"\nevent_id = "body:x"\n')
