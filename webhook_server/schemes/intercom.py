"""Intercom: ``X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>``, keyed with the app's client
secret; no timestamp. The body is a notification: its ``id`` (``notif_…``) is the event id,
its ``topic`` (``conversation.user.created``) the type. Intercom's ``ping`` topic is stored
like any other (it needs only a 200)."""

from __future__ import annotations

from webhook_server.schemes.body_hmac import BodyHmacVerifier, Signature


class IntercomVerifier(BodyHmacVerifier):
    name = "intercom"
    variable = "INTERCOM_CLIENT_SECRET"
    signature = Signature("X-Hub-Signature", prefix="sha1=", algorithm="sha1")
    id_field = "id"
    type_field = "topic"
