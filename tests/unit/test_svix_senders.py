"""Standard Webhooks under Svix's header names, and the senders that deliver through Svix (Clerk,
Resend) as named schemes: the svix library signs deliveries the verifiers must accept, and
verifies what `send clerk` and `send resend` sign."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from svix.webhooks import Webhook
from werkzeug.datastructures import Headers

from webhook_server.dev.senders import clerk, resend
from webhook_server.schemes import Rejected
from webhook_server.schemes.standard import ClerkVerifier, ResendVerifier, StandardWebhooksVerifier

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_QWxzb0Fub3RoZXJTZWNyZXRLZXkxMjM0NQ=="
VERIFIERS = {"clerk": ClerkVerifier, "resend": ResendVerifier, "standard": StandardWebhooksVerifier}
BODY = b'{"type": "user.created", "object": "event", "data": {"id": "user_29w83sxmDNGwOuEthce5gg56FcC"}}'


def svix_signed(body: bytes = BODY, secret: str = SECRET, sent: datetime | None = None) -> dict[str, str]:
    """Headers as Svix sends them, the signature made by the svix library."""
    sent = sent or datetime.now(UTC)
    message_id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    signature = Webhook(secret).sign(message_id, sent, body.decode())
    return {"svix-id": message_id, "svix-timestamp": str(int(sent.timestamp())), "svix-signature": signature}


def reason(body: bytes, headers: dict[str, str], scheme: str = "clerk") -> str:
    with pytest.raises(Rejected) as caught:
        VERIFIERS[scheme]((SECRET,)).verify(body, Headers(headers))
    return caught.value.reason


@pytest.mark.parametrize("scheme", VERIFIERS)
def test_a_delivery_signed_by_svix_is_stored_under_its_svix_id(scheme: str) -> None:
    event = VERIFIERS[scheme]((SECRET,)).verify(BODY, Headers(svix_signed()))
    assert (event.event_id, event.event_type) == ("msg_p5jXN8AQM9LWM0D4loKWxJek", "user.created")


@pytest.mark.parametrize(("sender", "verifier"), [(clerk, ClerkVerifier), (resend, ResendVerifier)])
def test_what_send_signs_is_valid_to_svix(sender, verifier) -> None:
    for event_type in (sender.DEFAULT_TYPE, "session.created" if sender is clerk else "email.bounced"):
        sample = sender.sample(SECRET, event_type, None, "")
        Webhook(SECRET).verify(sample.body, sample.headers)  # raises if svix refuses it
        event = verifier((SECRET,)).verify(sample.body, Headers(sample.headers))
        assert (event.event_id, event.event_type) == (sample.event_id, event_type)


def test_forged_stale_and_missing_svix_signatures_are_refused() -> None:
    headers = svix_signed()
    assert reason(BODY, svix_signed(secret=OTHER)) == "signature_invalid"
    assert reason(BODY.replace(b"user.created", b"user.deleted"), headers) == "signature_invalid"
    assert reason(BODY, svix_signed(sent=datetime.now(UTC) - timedelta(hours=1))) == "signature_expired"
    assert reason(BODY, {k: v for k, v in headers.items() if k != "svix-signature"}) == "signature_missing"
    assert reason(BODY, {k: v for k, v in headers.items() if k != "svix-timestamp"}) == "signature_missing"
    assert reason(BODY, headers | {"svix-signature": "v1,@@"}) == "signature_malformed"
    assert reason(BODY, headers | {"svix-id": "a, b"}) == "header_malformed"


def test_one_family_is_read_webhook_names_first() -> None:
    """A request with both families is judged by its webhook-* headers only: no mixing the
    id of one with the signature of the other."""
    svix_headers = svix_signed()
    forged = {"webhook-id": "msg_forged", "webhook-timestamp": str(int(time.time())), "webhook-signature": "v1,AAAA"}
    assert reason(BODY, svix_headers | forged, "standard") == "signature_malformed"
    renamed = {name.replace("svix-", "webhook-"): value for name, value in svix_headers.items()}
    event = StandardWebhooksVerifier((SECRET,)).verify(BODY, Headers(renamed | {"svix-signature": "v1,AAAA"}))
    assert event.event_id == "msg_p5jXN8AQM9LWM0D4loKWxJek"
