"""Typeform: ``Typeform-Signature: sha256=<base64 HMAC-SHA256 of the body>``, keyed with the
webhook's secret; no timestamp. The id is the body's ``event_id``, the type its ``event_type``
(``form_response``)."""

from __future__ import annotations

from webhook_server.schemes.body_hmac import BodyHmacVerifier, Signature


class TypeformVerifier(BodyHmacVerifier):
    name = "typeform"
    variable = "TYPEFORM_WEBHOOK_SECRET"
    signature = Signature("Typeform-Signature", prefix="sha256=", encoding="base64")
    id_field = "event_id"
    type_field = "event_type"
