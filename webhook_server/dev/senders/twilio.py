"""Twilio's webhooks as Twilio posts them: form fields signed with the URL (``headers``), and
realistic messaging and voice requests for `send` (``sample``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable, Sequence
from urllib.parse import urlencode

from webhook_server.dev.signed import SignedSample

ACCOUNT_SID = "AC" + "0" * 31 + "1"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def signature(url: str, fields: Sequence[tuple[str, str]], secret: str, *, algorithm: str = "sha1") -> str:
    """Twilio's recipe (twilio.com/docs/usage/security): HMAC of the URL followed by each field's
    name and value, names sorted, in base64; a JSON body's fields are none (its hash is in the URL)."""
    values: dict[str, set[str]] = {}
    for name, value in fields:
        values.setdefault(name, set()).add(value)
    message = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(secret.encode(), message.encode(), getattr(hashlib, algorithm)).digest()
    return base64.b64encode(digest).decode()


def headers(url: str, fields: Sequence[tuple[str, str]], secret: str, *, token: str) -> dict[str, str]:
    """The headers of a form ``fields`` posted to ``url``, with ``token`` as its idempotency token."""
    return {
        **FORM,
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": token,
        "X-Twilio-Signature": signature(url, fields, secret),
    }


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _incoming_message() -> dict[str, str]:
    sid = _sid("SM")
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "SAN FRANCISCO",
        "FromZip": "94105",
        "SmsSid": sid,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN FRANCISCO",
        "Body": "Hello from webhook-server ✓",
        "FromCountry": "US",
        "To": "+15005550006",
        "ToZip": "94105",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": "+14155550100",
        "ApiVersion": "2010-04-01",
    }


def _message_status(status: str) -> dict[str, str]:
    sid = _sid("SM")
    return {
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": "+14155550100",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": "+15005550006",
        "ApiVersion": "2010-04-01",
    }


def _call(status: str) -> dict[str, str]:
    fields = {
        "Called": "+15005550006",
        "ToState": "CA",
        "CallerCountry": "US",
        "Direction": "inbound",
        "CallerState": "CA",
        "ToZip": "94105",
        "CallSid": _sid("CA"),
        "To": "+15005550006",
        "CallerZip": "94105",
        "ToCountry": "US",
        "ApiVersion": "2010-04-01",
        "CalledZip": "94105",
        "CallStatus": status,
        "From": "+14155550100",
        "AccountSid": ACCOUNT_SID,
        "Caller": "+14155550100",
    }
    return fields | ({"CallDuration": "42", "Duration": "1"} if status == "completed" else {})


# The type each sample's fields give (schemes/twilio.py reads the type from them), and the fields.
BODIES: dict[str, Callable[[], dict[str, str]]] = {
    "message.received": _incoming_message,
    "message.sent": lambda: _message_status("sent"),
    "message.delivered": lambda: _message_status("delivered"),
    "message.failed": lambda: _message_status("failed") | {"ErrorCode": "30008"},
    "call.ringing": lambda: _call("ringing"),
    "call.completed": lambda: _call("completed"),
}


DEFAULT_TYPE = "message.received"
CATALOGUE = BODIES


def sample(secret: str, event_type: str, event_id: str | None, url: str) -> SignedSample:
    """A form Twilio would post to ``url``; ``event_id`` is its I-Twilio-Idempotency-Token.
    A type without a sample sends an incoming message (the type the server then reads)."""
    token = event_id or str(uuid.uuid4())
    kind = event_type if event_type in BODIES else DEFAULT_TYPE
    fields = list(BODIES[kind]().items())
    return SignedSample(token, kind, urlencode(fields).encode(), headers(url, fields, secret, token=token))
