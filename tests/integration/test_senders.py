"""The schemes an endpoint of WEBHOOK_ENDPOINTS_FILE names (Twilio, Discord, SendGrid), through a
real gunicorn into Postgres: what is stored, what is answered, and `send` against each.

Twilio posts a form: the row keeps its bytes as ``body`` and the form as a JSON object in
``payload``, the object the worker gives handlers (``bodies.as_object``). Its URL is part of
the signature, so it is read from the request in both paths of the server: the main loop's
(a whole delivery) and the Flask view's (WEBHOOK_MAIN_LOOP=off).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.harness.gunicorn import GunicornServer
from webhook_server import endpoints_file
from webhook_server.dev import samples
from webhook_server.dev.senders import discord, sendgrid, twilio, twitch, zoom
from webhook_server.schemes.bodies import as_object

CLI = [sys.executable, "-c", "from webhook_server.cli import run; run()"]
TWILIO_TOKEN = "twilio-auth-token-0123456789abcdef"
DISCORD_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
ZOOM_SECRET = "zoom-secret-token"
TWITCH_SECRET = "twitch-eventsub-secret"
SENDGRID_KEY = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"
# A Standard Webhooks endpoint moving from a whsec_ secret to a whpk_ key holds both.
STANDARD_HMAC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
STANDARD_SEED = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
ENDPOINTS = """
[endpoints.sms]
scheme = "twilio"
secret_env = "SMS_AUTH_TOKEN"

[endpoints.bot]
scheme = "discord"
secret_env = "BOT_PUBLIC_KEY"

[endpoints.mail-events]
scheme = "sendgrid"
secret_env = "MAIL_VERIFICATION_KEY"

[endpoints.meetings]
scheme = "zoom"
secret_env = "ZOOM_SECRET"

[endpoints.streams]
scheme = "twitch"
secret_env = "TWITCH_SECRET"

[endpoints.signed-events]
scheme = "standard"
secret_env = "SIGNED_EVENTS_KEYS"
"""
ROWS = "SELECT provider, endpoint, event_id, event_type, body, payload, headers FROM webhook_events ORDER BY id"


def environment(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "endpoints.toml"
    path.write_text(ENDPOINTS)
    return {
        "WEBHOOK_ENDPOINTS_FILE": str(path),
        "SMS_AUTH_TOKEN": TWILIO_TOKEN,
        "BOT_PUBLIC_KEY": discord.public_key_hex(DISCORD_SEED),
        "MAIL_VERIFICATION_KEY": sendgrid.public_key(SENDGRID_KEY),
        "ZOOM_SECRET": ZOOM_SECRET,
        "TWITCH_SECRET": TWITCH_SECRET,
        "SIGNED_EVENTS_KEYS": f"{STANDARD_HMAC},{whpk(standard_key())}",
    }


def standard_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(STANDARD_SEED))


def whpk(key: Ed25519PrivateKey) -> str:
    return "whpk_" + base64.b64encode(key.public_key().public_bytes_raw()).decode()


def whsk(key: Ed25519PrivateKey) -> str:
    """Svix's form of the private key: base64 of the seed and the public key."""
    return "whsk_" + base64.b64encode(key.private_bytes_raw() + key.public_key().public_bytes_raw()).decode()


def rows(database_url: str) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(ROWS).fetchall()


def post(server: GunicornServer, path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(server.url(path), data=body, headers=headers, timeout=10)


@pytest.mark.parametrize("main_loop", ["on", "off"])
def test_a_twilio_form_is_stored_as_sent_with_its_fields_as_payload(
    main_loop: str, start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    server = start_server(**environment(tmp_path), WEBHOOK_MAIN_LOOP=main_loop)
    path = "/webhooks/sms?tenant=acme&x=%2F1"  # Twilio signs the query string too
    sample = twilio.sample(TWILIO_TOKEN, "message.received", None, server.url(path))
    headers = sample.headers | {"X-Home-Region": "us1"}
    assert post(server, path, sample.body, headers).json() == {"received": True, "duplicate": False}
    assert post(server, path, sample.body, headers).json() == {"received": True, "duplicate": True}

    [(scheme, endpoint, event_id, event_type, body, payload, stored_headers)] = rows(clean_db)
    assert (scheme, endpoint, event_id, event_type) == ("twilio", "sms", sample.event_id, "message.received")
    assert bytes(body) == sample.body
    assert payload == as_object(bytes(body)) and payload["Body"] == "Hello from webhook-server ✓"
    assert stored_headers == {"x-home-region": "us1"}

    # Signed for another path, query or scheme: refused, nothing more stored.
    for url in (server.url("/webhooks/sms?tenant=other&x=%2F1"), server.url(path).replace("http:", "https:")):
        other = twilio.sample(TWILIO_TOKEN, "message.received", None, url)
        refused = post(server, path, other.body, other.headers)
        assert (refused.status_code, refused.json()["error"]) == (400, "signature_invalid")
        assert "/webhooks/sms?tenant=acme&x=%2F1" in refused.json()["message"]  # the URL it checked
    assert len(rows(clean_db)) == 1


def test_discord_ping_is_answered_with_pong_and_interactions_with_a_deferral(
    start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    server = start_server(**environment(tmp_path))
    ping = json.dumps(discord.interaction(1)).encode()
    answer = post(server, "/webhooks/bot", ping, discord.headers(ping, DISCORD_SEED))
    assert (answer.status_code, answer.json()) == (200, {"type": 1})
    assert rows(clean_db) == []

    sample = discord.sample(DISCORD_SEED, "application_command", None, "")
    for _ in range(2):  # a duplicate gets the deferral too: the interaction still wants an answer
        answer = post(server, "/webhooks/bot", sample.body, sample.headers)
        assert (answer.status_code, answer.json()) == (200, {"type": 5})
    [(scheme, endpoint, event_id, event_type, body, payload, _)] = rows(clean_db)
    assert (scheme, endpoint, event_id, event_type) == ("discord", "bot", sample.event_id, "application_command")
    assert bytes(body) == sample.body and payload == json.loads(sample.body)

    other_seed = "1" * 64
    forged = post(server, "/webhooks/bot", sample.body, discord.headers(sample.body, other_seed))
    assert (forged.status_code, forged.json()["error"]) == (400, "signature_invalid")
    assert "BOT_PUBLIC_KEY" in forged.json()["message"]

    webhook_ping = json.dumps({"version": 1, "application_id": discord.APPLICATION_ID, "type": 0}).encode()
    answer = post(server, "/webhooks/bot", webhook_ping, discord.headers(webhook_ping, DISCORD_SEED))
    assert (answer.status_code, answer.content) == (204, b"")
    assert len(rows(clean_db)) == 1


def test_a_sendgrid_batch_is_stored_once_with_its_events(
    start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    server = start_server(**environment(tmp_path))
    sample = sendgrid.sample(SENDGRID_KEY, "open", None, "")
    assert post(server, "/webhooks/mail-events", sample.body, sample.headers).json()["duplicate"] is False
    assert post(server, "/webhooks/mail-events", sample.body, sample.headers).json()["duplicate"] is True
    [(scheme, endpoint, event_id, event_type, body, payload, _)] = rows(clean_db)
    assert (scheme, endpoint, event_id, event_type) == ("sendgrid", "mail-events", sample.event_id, "open")
    assert payload == {"events": json.loads(sample.body)} == as_object(bytes(body))

    forged = sendgrid.headers(sample.body, sendgrid.new_private_key())
    assert post(server, "/webhooks/mail-events", sample.body, forged).status_code == 400


@pytest.mark.parametrize(("name", "secret"), [("sms", TWILIO_TOKEN), ("bot", DISCORD_SEED)])
def test_send_posts_a_sample_each_endpoint_accepts(
    name: str, secret: str, start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    env = environment(tmp_path)
    server = start_server(**env)
    command = [*CLI, "send", name, "--url", server.url(f"/webhooks/{name}?via=send"), "--id", "1234567890"]
    command += ["--secret", secret] if name == "bot" else []
    for duplicate in ("false", "true"):
        result = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        # A Discord interaction's answer is its deferral, duplicate or not.
        assert (f'"duplicate":{duplicate}' if name == "sms" else '{"type":5}') in result.stdout
    assert [row[2] for row in rows(clean_db)] == ["1234567890"]


def test_standard_v1a_signatures_are_checked_with_the_endpoints_public_key(
    start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    """`send --secret whsk_…` signs v1a; the server verifies it with the whpk_ key beside a whsec_
    secret. Another key, a changed body, hostile entries: 4xx, nothing more stored."""
    env = environment(tmp_path)
    server = start_server(**env)
    url = server.url("/webhooks/signed-events")
    command = [*CLI, "send", "signed-events", "--url", url, "--id", "msg_v1a_1", "--secret", whsk(standard_key())]
    result = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    [(scheme, endpoint, event_id, event_type, *_)] = rows(clean_db)
    assert (scheme, endpoint, event_id, event_type) == ("standard", "signed-events", "msg_v1a_1", "invoice.paid")

    stamp = str(int(time.time()))
    document = b'{"type": "invoice.paid", "data": {"id": "inv_2"}}'
    signed = b"msg_v1a_2." + stamp.encode() + b"." + document

    def headers(signature: str) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "webhook-id": "msg_v1a_2",
            "webhook-timestamp": stamp,
            "webhook-signature": signature,
        }

    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    for signature in (
        "v1a," + base64.b64encode(other.sign(signed)).decode(),
        "v1a," + base64.b64encode(standard_key().sign(signed + b" ")).decode(),
        "v1a," + "9" * 5000,
        "v1a,\u00e9\u00ff" * 50,
        "v1," + base64.b64encode(bytes(32)).decode() + " v1a," + base64.b64encode(bytes(64)).decode(),
    ):
        refused = post(server, "/webhooks/signed-events", document, headers(signature))
        assert 400 <= refused.status_code < 500, (signature[:40], refused.text)
    good = "v1a," + base64.b64encode(standard_key().sign(signed)).decode()
    assert post(server, "/webhooks/signed-events", document, headers(good)).json()["duplicate"] is False
    assert [row[2] for row in rows(clean_db)] == ["msg_v1a_1", "msg_v1a_2"]


def test_send_to_a_public_key_endpoint_without_the_private_key_says_what_to_pass(tmp_path: Path) -> None:
    env = environment(tmp_path)
    result = subprocess.run(
        [*CLI, "send", "bot", "--url", "http://127.0.0.1:9/webhooks/bot"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "BOT_PUBLIC_KEY" in result.stderr and "--secret" in result.stderr


# Headers no signature covers: another value is another id (Twilio's token) or nothing at all.
UNSIGNED = ("I-Twilio-Idempotency-Token", "Content-Type", "User-Agent")
HOSTILE_VALUES = [
    "9" * 5000,  # a 5,000-digit number
    "-1",
    "nan",
    "\x1b[2J\x1b]0;pwned\x07",  # escape sequences for the operator's terminal
    "\u00e9\u00ff" * 200,  # latin-1 on the wire
    "v1,=" * 300,
]


def test_hostile_header_values_and_bodies_get_a_4xx_and_nothing_is_stored(
    start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    server = start_server(**environment(tmp_path), WEBHOOK_MAX_BODY_BYTES="65536")
    twilio_sample = twilio.sample(TWILIO_TOKEN, "message.received", None, server.url("/webhooks/sms"))
    discord_sample = discord.sample(DISCORD_SEED, "application_command", None, "")
    sendgrid_sample = sendgrid.sample(SENDGRID_KEY, "open", None, "")
    deliveries = {
        "/webhooks/sms": twilio_sample,
        "/webhooks/bot": discord_sample,
        "/webhooks/mail-events": sendgrid_sample,
    }
    for path, sample in deliveries.items():
        for name in sample.headers:
            for value in HOSTILE_VALUES:
                headers = {**sample.headers, name: value}
                encoded = {key: text.encode("latin-1", "replace") for key, text in headers.items()}
                answer = requests.post(server.url(path), data=sample.body, headers=encoded, timeout=10)
                if name in UNSIGNED:  # may be taken as they are: the signed content is the same
                    assert answer.status_code == 200 or 400 <= answer.status_code < 500, (path, name)
                else:
                    assert 400 <= answer.status_code < 500, (path, name, value)
        huge = requests.post(server.url(path), data=b"a=" + b"9" * 70_000, headers=sample.headers, timeout=10)
        assert huge.status_code == 413
    # Only the signed samples were stored (Twilio's maybe under tokens no signature covers).
    genuine = {(path.removeprefix("/webhooks/"), sample.body) for path, sample in deliveries.items()}
    assert {(row[1], bytes(row[4])) for row in rows(clean_db)} <= genuine
    assert {row[2] for row in rows(clean_db) if row[1] != "sms"} <= {discord_sample.event_id, sendgrid_sample.event_id}


def test_signed_content_jsonb_cannot_hold_is_stored_with_its_body(
    start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    """A NUL or a lone surrogate in a signed body is a customer's text, stored as sent (payload NULL)."""
    server = start_server(**environment(tmp_path))
    url = server.url("/webhooks/sms")
    fields = [("MessageSid", "SM1"), ("SmsStatus", "received"), ("Body", "nul \x00 here")]
    form = twilio.urlencode(fields).encode()
    form_headers = twilio.headers(url, fields, TWILIO_TOKEN, token="idem-nul")
    assert post(server, "/webhooks/sms", form, form_headers).status_code == 200

    batch = b'[{"event": "open", "email": "\\ud800", "sg_event_id": "x"}]'
    assert post(server, "/webhooks/mail-events", batch, sendgrid.headers(batch, SENDGRID_KEY)).status_code == 200

    interaction = json.dumps(discord.interaction(2, "99", {"name": "nul \x00"})).encode()
    answer = post(server, "/webhooks/bot", interaction, discord.headers(interaction, DISCORD_SEED))
    assert (answer.status_code, answer.json()) == (200, {"type": 5})

    stored = {row[0]: (bytes(row[4]), row[5]) for row in rows(clean_db)}
    assert stored == {"twilio": (form, None), "sendgrid": (batch, None), "discord": (interaction, None)}


def test_zoom_and_twitch_handshakes_are_answered_as_they_want_and_nothing_stored(
    start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    server = start_server(**environment(tmp_path))
    validation = json.dumps({"payload": {"plainToken": "plain-1"}, "event": "endpoint.url_validation"}).encode()
    answer = post(server, "/webhooks/meetings", validation, zoom.headers(validation, ZOOM_SECRET))
    assert answer.status_code == 200 and answer.json()["plainToken"] == "plain-1"
    assert len(answer.json()["encryptedToken"]) == 64

    challenge = json.dumps(twitch.document("stream.online", challenge="challenge-text-1")).encode()
    headers = twitch.headers(
        challenge, TWITCH_SECRET, message_id="m-1", subscription="stream.online", kind="webhook_callback_verification"
    )
    answer = post(server, "/webhooks/streams", challenge, headers)
    assert (answer.status_code, answer.text, answer.headers["Content-Type"]) == (
        200,
        "challenge-text-1",
        "text/plain; charset=utf-8",
    )
    assert rows(clean_db) == []

    for path, sample in (
        ("/webhooks/meetings", zoom.sample(ZOOM_SECRET, "meeting.ended", None, "")),
        ("/webhooks/streams", twitch.sample(TWITCH_SECRET, "stream.online", None, "")),
    ):
        assert post(server, path, sample.body, sample.headers).json() == {"received": True, "duplicate": False}
    assert [(row[0], row[3]) for row in rows(clean_db)] == [("zoom", "meeting.ended"), ("twitch", "stream.online")]


# A secret for each scheme an endpoint of the file can name (the public-key schemes: the key
# the server holds, and the private key `send` signs with).
ADYEN_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
SVIX_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SIGNING = {
    "discord": (discord.public_key_hex(DISCORD_SEED), DISCORD_SEED),
    "sendgrid": (sendgrid.public_key(SENDGRID_KEY), SENDGRID_KEY),
    "adyen": (ADYEN_KEY, ADYEN_KEY),
    "clerk": (SVIX_SECRET, SVIX_SECRET),
    "resend": (SVIX_SECRET, SVIX_SECRET),
}


def all_schemes(start_server: Callable[..., GunicornServer], tmp_path: Path) -> GunicornServer:
    """One server with an endpoint ``e-<scheme>`` for every scheme the file can name."""
    tables, env = [], {}
    for scheme in endpoints_file.FILE_SCHEMES:
        server_secret, _ = SIGNING.get(scheme, (f"{scheme}-secret-0123456789", ""))
        tables.append(f'[endpoints.e-{scheme}]\nscheme = "{scheme}"\nsecret_env = "{scheme.upper()}_SECRET"\n')
        env[f"{scheme.upper()}_SECRET"] = server_secret
    (tmp_path / "all.toml").write_text("\n".join(tables))
    return start_server(WEBHOOK_ENDPOINTS_FILE=str(tmp_path / "all.toml"), WEBHOOK_MAX_BODY_BYTES="65536", **env)


def sample_for(server: GunicornServer, scheme: str) -> tuple[str, samples.SignedSample]:
    """The path of the scheme's endpoint and its `send` sample, signed for that URL."""
    _, signing_secret = SIGNING.get(scheme, ("", f"{scheme}-secret-0123456789"))
    path = f"/webhooks/e-{scheme}"
    return path, samples.signed_sample(scheme, signing_secret, samples.DEFAULT_TYPES[scheme], url=server.url(path))


def test_every_scheme_of_the_file_stores_its_send_sample(
    start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    """One endpoint per scheme, each posted its `send` sample: registration, sample and verifier
    agree for all of them, through a real gunicorn into Postgres."""
    server = all_schemes(start_server, tmp_path)
    expected = set()
    for scheme in endpoints_file.FILE_SCHEMES:
        path, sample = sample_for(server, scheme)
        answer = post(server, path, sample.body, sample.headers)
        assert answer.status_code == 200, (scheme, answer.text)
        expected.add((scheme, f"e-{scheme}", sample.event_id, sample.event_type))
    assert {tuple(row[:4]) for row in rows(clean_db)} == expected


def test_no_header_value_or_body_gets_a_5xx_from_any_scheme_and_only_signed_content_is_stored(
    start_server: Callable[..., GunicornServer], clean_db: str, tmp_path: Path
) -> None:
    """Each header of each scheme's sample replaced by hostile values, and the body cut, emptied
    or swollen: never a 5xx; a header no signature covers may rename the signed content (a new
    id), but nothing else is ever stored."""
    server = all_schemes(start_server, tmp_path)
    genuine = set()
    for scheme in endpoints_file.FILE_SCHEMES:
        path, sample = sample_for(server, scheme)
        genuine.add((f"e-{scheme}", sample.body))
        for name in sample.headers:
            for value in HOSTILE_VALUES:
                encoded = {k: v.encode("latin-1", "replace") for k, v in (sample.headers | {name: value}).items()}
                answer = requests.post(server.url(path), data=sample.body, headers=encoded, timeout=10)
                assert answer.status_code < 500, (scheme, name, answer.text)
        for body in (sample.body[:-1], b"", b"\xff" * 10):
            answer = post(server, path, body, sample.headers)
            assert 400 <= answer.status_code < 500, (scheme, body[:20], answer.text)
        # Adyen and Mailgun sign fields of the body, GitLab nothing of it: the same id is the same event.
        spaced = post(server, path, sample.body + b" ", sample.headers).json()
        unsigned_bytes = scheme in ("adyen", "mailgun", "gitlab")
        assert spaced.get("duplicate") is True if unsigned_bytes else "error" in spaced, scheme
        assert post(server, path, b"x" * 70_000, sample.headers).status_code == 413
    assert {(row[1], bytes(row[4])) for row in rows(clean_db)} <= genuine
