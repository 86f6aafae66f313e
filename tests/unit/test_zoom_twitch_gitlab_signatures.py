"""Zoom, Twitch EventSub and GitLab. None has a Python SDK that signs or verifies, so deliveries
are signed by webhook_server/dev/senders (each sender's documented recipe, written apart from
the verifiers): Zoom's "Verify webhook events", Twitch's "Verifying the event message",
GitLab's "Webhooks" (a plain token). Handshakes are answered as each sender documents."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from webhook_server.dev.senders import gitlab, twitch, zoom
from webhook_server.schemes import Handshake, Rejected, VerifiedEvent
from webhook_server.schemes.gitlab import GitLabVerifier
from webhook_server.schemes.twitch import TwitchVerifier
from webhook_server.schemes.zoom import ZoomVerifier

ZOOM_SECRET = "zoom-secret-token-abc123"
TWITCH_SECRET = "twitch-eventsub-secret-0123456789"
GITLAB_TOKEN = "glwt-secret-token"


def reason(verifier, body: bytes, headers: dict[str, str]) -> str:
    with pytest.raises(Rejected) as caught:
        verifier.verify(body, Headers(headers))
    return caught.value.reason


def test_zoom_events_are_stored_under_their_body_hash_and_type() -> None:
    for event_type in zoom.TYPES:
        sample = zoom.sample(ZOOM_SECRET, event_type, None, "")
        event = ZoomVerifier((ZOOM_SECRET,)).verify(sample.body, Headers(sample.headers))
        assert (event.event_id, event.event_type) == (sample.event_id, event_type)


def test_zoom_url_validation_is_answered_with_the_token_hmac_of_the_secret_that_signed() -> None:
    body = json.dumps(
        {
            "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
            "event_ts": 1654503849680,
            "event": "endpoint.url_validation",
        }
    ).encode()
    answer = ZoomVerifier(("old-secret", ZOOM_SECRET)).verify(body, Headers(zoom.headers(body, ZOOM_SECRET)))
    expected = hmac.new(ZOOM_SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert answer == Handshake({"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected})
    assert reason(ZoomVerifier((ZOOM_SECRET,)), body, zoom.headers(body, "another")) == "signature_invalid"


def test_zoom_refuses_forged_stale_and_malformed_signatures() -> None:
    sample = zoom.sample(ZOOM_SECRET, "meeting.started", None, "")
    verifier = ZoomVerifier((ZOOM_SECRET,))
    assert reason(verifier, sample.body, zoom.headers(sample.body, "another")) == "signature_invalid"
    assert reason(verifier, sample.body, zoom.headers(sample.body, ZOOM_SECRET, timestamp=int(time.time()) - 900)) == (
        "signature_expired"
    )
    assert reason(verifier, sample.body, sample.headers | {"x-zm-signature": "v1=00"}) == "signature_malformed"
    assert reason(verifier, sample.body, {"x-zm-signature": sample.headers["x-zm-signature"]}) == "signature_missing"


def test_twitch_notifications_are_stored_under_their_message_id() -> None:
    for event_type in twitch.TYPES:
        sample = twitch.sample(TWITCH_SECRET, event_type, None, "")
        event = TwitchVerifier((TWITCH_SECRET,)).verify(sample.body, Headers(sample.headers))
        assert isinstance(event, VerifiedEvent)
        assert (event.event_id, event.event_type) == (sample.event_id, event_type)


def test_twitch_challenge_is_answered_as_text_and_a_revocation_stored() -> None:
    verifier = TwitchVerifier((TWITCH_SECRET,))
    body = json.dumps(twitch.document("channel.follow", challenge="pogchamp-kappa-360noscope-vohiyo")).encode()
    headers = twitch.headers(
        body, TWITCH_SECRET, message_id="m1", subscription="channel.follow", kind="webhook_callback_verification"
    )
    assert verifier.verify(body, Headers(headers)) == Handshake("pogchamp-kappa-360noscope-vohiyo")
    body = json.dumps(twitch.document("channel.follow")).encode()
    headers = twitch.headers(body, TWITCH_SECRET, message_id="m2", subscription="channel.follow", kind="revocation")
    assert verifier.verify(body, Headers(headers)).event_type == "channel.follow.revocation"


def test_twitch_refuses_forged_late_and_malformed_messages() -> None:
    verifier = TwitchVerifier((TWITCH_SECRET,))
    sample = twitch.sample(TWITCH_SECRET, "stream.online", None, "")
    late = twitch.timestamp(datetime.now(UTC) - timedelta(minutes=11))
    nearly = twitch.timestamp(datetime.now(UTC) - timedelta(minutes=9))
    sign = twitch.headers
    assert reason(verifier, sample.body, sign(sample.body, "x", message_id="m", subscription="stream.online")) == (
        "signature_invalid"
    )
    assert reason(
        verifier, sample.body, sign(sample.body, TWITCH_SECRET, message_id="m", subscription="s", sent=late)
    ) == ("signature_expired")
    assert verifier.verify(
        sample.body, Headers(sign(sample.body, TWITCH_SECRET, message_id="m", subscription="s", sent=nearly))
    )
    other_id = sample.headers | {"Twitch-Eventsub-Message-Id": "another"}
    assert reason(verifier, sample.body, other_id) == "signature_invalid"  # the id is signed
    for stamp in ("2023-07-19 10:11:12Z", "2023-07-19T10:11:12+02:00", "2023-13-40T10:11:12Z", "9" * 400):
        assert reason(verifier, sample.body, sample.headers | {"Twitch-Eventsub-Message-Timestamp": stamp}) == (
            "signature_malformed"
        )


def test_gitlab_compares_the_token_and_reads_the_event() -> None:
    verifier = GitLabVerifier(("old-token", GITLAB_TOKEN))
    for event_type in gitlab.EVENTS:
        sample = gitlab.sample(GITLAB_TOKEN, event_type, None, "")
        event = verifier.verify(sample.body, Headers(sample.headers))
        assert (event.event_id, event.event_type) == (sample.event_id, event_type)
    sample = gitlab.sample(GITLAB_TOKEN, "push", None, "")
    assert reason(verifier, sample.body, sample.headers | {"X-Gitlab-Token": "guess"}) == "signature_invalid"
    assert reason(verifier, sample.body, sample.headers | {"X-Gitlab-Token": GITLAB_TOKEN + "x"}) == "signature_invalid"
    assert reason(verifier, sample.body, {k: v for k, v in sample.headers.items() if k != "X-Gitlab-Token"}) == (
        "signature_missing"
    )
    assert reason(verifier, sample.body, sample.headers | {"X-Gitlab-Event-UUID": "a,b"}) == "header_malformed"


header_values = st.text(st.characters(exclude_characters="\r\n"), max_size=100)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(header_values, min_size=4, max_size=4), body=st.binary(max_size=300))
def test_any_input_is_an_event_a_handshake_or_a_refusal(values: list[str], body: bytes) -> None:
    a, b, c, d = values
    cases = [
        (ZoomVerifier((ZOOM_SECRET,)), {"x-zm-signature": a, "x-zm-request-timestamp": b}),
        (
            TwitchVerifier((TWITCH_SECRET,)),
            {
                "Twitch-Eventsub-Message-Signature": a,
                "Twitch-Eventsub-Message-Id": b,
                "Twitch-Eventsub-Message-Timestamp": c,
                "Twitch-Eventsub-Message-Type": d,
            },
        ),
        (GitLabVerifier((GITLAB_TOKEN,)), {"X-Gitlab-Token": a, "X-Gitlab-Event-UUID": b, "X-Gitlab-Event": c}),
    ]
    for verifier, headers in cases:
        with contextlib.suppress(Rejected):  # anything else fails the test
            verifier.verify(body, Headers(headers))
