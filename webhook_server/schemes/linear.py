"""Linear: ``Linear-Signature`` = hex HMAC-SHA256 of the body, keyed with the webhook's signing
secret. The signed body's ``webhookTimestamp`` (milliseconds) must be within a minute, as
Linear's SDK checks it. The id is ``Linear-Delivery``, the type the body's ``<type>.<action>``
(``Issue.create``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webhook_server.schemes.base import Rejected, identifier, required_identifier
from webhook_server.schemes.body_hmac import BodyHmacVerifier, Signature
from webhook_server.schemes.signing import identifier_header, require_fresh


class LinearVerifier(BodyHmacVerifier):
    name = "linear"
    variable = "LINEAR_WEBHOOK_SECRET"
    signature = Signature("Linear-Signature")
    tolerance = 60  # Linear's documented window

    def identify(self, document: dict[str, Any], headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
        stamp = document.get("webhookTimestamp")
        if type(stamp) is not int:
            raise Rejected("signature_malformed", "the body's webhookTimestamp is not a time in milliseconds")
        require_fresh(stamp / 1000, tolerance=self._tolerance)
        kind = f"{required_identifier(document, 'type')}.{required_identifier(document, 'action')}"
        return identifier_header(headers, "Linear-Delivery"), identifier(kind, "the type.action", "event_malformed")
