"""Twilio: ``X-Twilio-Signature`` = base64 HMAC-SHA1, keyed with the account's Auth Token, of the
URL Twilio requested followed by each form parameter, sorted by name, as ``<name><value>``.

Twilio posts ``application/x-www-form-urlencoded`` bodies; they are stored as their bytes, with
the form as a JSON object for the ``payload`` column and for handlers (schemes/bodies.py). A
JSON body is signed through its URL instead: Twilio adds ``bodySHA256=<hex SHA-256 of the
body>`` to the query and signs the URL alone. A webhook signed with a SharedKey says so in
``X-Twilio-Webhooks-Signature-Settings: key=…,algorithm=HMAC_SHA256`` and is HMAC-SHA256 with
that key's secret. Twilio's own validator (``twilio.request_validator``) accepts the URL with and
without the scheme's default port, since Twilio's signers differ there; so does this one.

The URL is the one the sender used (base.RequestUrl): behind a proxy, the scheme comes from its
``X-Forwarded-Proto`` (trusted through gunicorn's ``forwarded_allow_ips``) and ``Host`` must
reach the app as the sender sent it (the shipped nginx passes ``$http_host``). There is no
timestamp, so no replay window: a replayed request is a duplicate when it carries the same
``I-Twilio-Idempotency-Token``, the id Twilio keeps across its retries of one webhook; without
that header the event id is the body's hash.

The type: ``message.<MessageStatus>`` (``message.delivered``) or ``message.<SmsStatus>``
(``message.received``) for messaging, ``call.<CallStatus>`` for voice, a JSON body's ``type``
(Event Streams' CloudEvents), else ``twilio``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlsplit

from webhook_server.safe_text import printable
from webhook_server.schemes.base import (
    Rejected,
    RequestUrl,
    VerifiedEvent,
    body_digest,
    decode_utf8,
    identifier,
    parse_json,
)
from webhook_server.schemes.bodies import form_object, form_pairs, stored_document
from webhook_server.schemes.signing import (
    SecretVerifier,
    decode_signature,
    header,
    identifier_header,
    require_any_match,
)

SIGNATURE_HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
ID_HEADER = "I-Twilio-Idempotency-Token"
BODY_HASH = "bodySHA256"
# X-Twilio-Webhooks-Signature-Settings' algorithm names; without the header, HMAC_SHA1.
ALGORITHMS = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}
DEFAULT_PORTS = {"http": 80, "https": 443}
# Form fields that name the type, by the family they belong to, in the order they are read.
STATUS_FIELDS = (("MessageStatus", "message"), ("SmsStatus", "message"), ("CallStatus", "call"))


class TwilioVerifier(SecretVerifier):
    name = "twilio"
    variable = "TWILIO_AUTH_TOKEN"

    def verify(self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None) -> VerifiedEvent:
        if url is None:
            raise Rejected("url_unknown", "Twilio signs the URL it posts to, and this request's URL is unknown")
        signed = header(headers, SIGNATURE_HEADER, reason="signature_missing", hint="; is this request from Twilio?")
        algorithm = _algorithm(headers.get(SETTINGS_HEADER) or "")
        signature = decode_signature(signed, "base64", SIGNATURE_HEADER, algorithm=algorithm)
        text = decode_utf8(body)
        parts = urlsplit(str(url))
        body_hashes = [value for name, value in parse_qsl(parts.query, keep_blank_values=True) if name == BODY_HASH]
        pairs = [] if body_hashes else form_pairs(text)
        require_any_match(
            self._keys,
            [_message(candidate, pairs) for candidate in _with_and_without_port(parts)],
            signature,
            algorithm=algorithm,
            problem=f"the signature of {printable(str(url))[:300]} matches none of the configured secrets; check "
            f"{self._variable} against the Auth Token (or the SharedKey's secret), and that this is the URL "
            "set in Twilio: behind a proxy, it must pass X-Forwarded-Proto and the Host the sender used",
        )
        event_id = identifier_header(headers, ID_HEADER) if headers.get(ID_HEADER) else body_digest(body)
        if body_hashes:  # a JSON body: the URL is signed alone, and carries the body's hash
            if not hmac.compare_digest(body_hashes[-1].encode(), hashlib.sha256(body).hexdigest().encode()):
                raise Rejected("signature_invalid", f"the body's SHA-256 is not the URL's {BODY_HASH}")
            document = parse_json(text)
            if isinstance(document, dict):
                return VerifiedEvent(event_id, _json_type([document]), text)
            if isinstance(document, list):
                return VerifiedEvent(event_id, _json_type(document), text, document=stored_document(body))
            raise Rejected("body_not_json", "a JSON body from Twilio is an object or an array")
        return VerifiedEvent(event_id, _form_type(form_object(pairs)), text, document=stored_document(body))


def _algorithm(settings: str) -> str:
    """The HMAC's hash: SHA-1 unless the settings header names SHA-256 (``key=…,algorithm=…``)."""
    named = [v.strip() for k, _, v in (p.partition("=") for p in settings.split(",")) if k.strip() == "algorithm"]
    if not named:
        return "sha1"
    if named[-1].upper() not in ALGORITHMS:
        raise Rejected("signature_malformed", f"the {SETTINGS_HEADER} header names an unknown algorithm")
    return ALGORITHMS[named[-1].upper()]


def _with_and_without_port(parts: SplitResult) -> list[str]:
    """The URL as received, and without its port, or with the scheme's default one if it has
    none: the two spellings twilio.request_validator accepts."""
    try:
        port = parts.port
    except ValueError:  # not a port number: only the URL as received can match
        return [parts.geturl()]
    if port is not None:
        return [parts.geturl(), parts._replace(netloc=parts.netloc.rpartition(":")[0]).geturl()]
    default = DEFAULT_PORTS.get(parts.scheme, 80)
    return [parts.geturl(), parts._replace(netloc=f"{parts.netloc}:{default}").geturl()]


def _message(url: str, pairs: list[tuple[str, str]]) -> bytes:
    """What Twilio signs: the URL, then each name and value, names sorted, each name's values
    sorted and given once (as twilio.request_validator builds it)."""
    values: dict[str, set[str]] = {}
    for name, value in pairs:
        values.setdefault(name, set()).add(value)
    return (url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))).encode()


def _form_type(form: dict[str, Any]) -> str:
    for field, family in STATUS_FIELDS:
        status = form.get(field)
        if isinstance(status, str) and status:
            return identifier(f"{family}.{status}", f"the form's {field}", "event_malformed")
    return "twilio"


def _json_type(events: list[Any]) -> str:
    """The ``type`` of a CloudEvent, or of a batch of them (Event Streams) when they share it."""
    types = {event.get("type") if isinstance(event, dict) else None for event in events}
    kind = types.pop() if len(types) == 1 else None
    if isinstance(kind, str) and kind:
        return identifier(kind, "the JSON body's 'type'", "event_malformed")
    return "twilio"
