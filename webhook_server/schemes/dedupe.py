"""An endpoint's own dedupe key: ``event_id = "header:<Name>"`` or ``"json:<dotted.path>"`` (or a
list of them, which must agree) in a WEBHOOK_ENDPOINTS_FILE table of a named scheme, for the
senders whose events the scheme stores under the body's hash (Zoom, Calendly, SendGrid) or under
an id the endpoint's owner would rather not use.

It replaces the event id the scheme's verifier found, after that verifier accepted the delivery;
the type and everything else stay the verifier's. A key read from a header is not covered by the
signature (see schemes/generic.py): list the body's copy beside it where there is one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from webhook_server.schemes.base import Handshake, RequestUrl, VerifiedEvent, Verifier, parse_json
from webhook_server.schemes.generic import agreed

if TYPE_CHECKING:
    from webhook_server.endpoints_file import Source


class EndpointDedupeKey:
    """A scheme's verifier, with the event id read where the endpoint says."""

    def __init__(self, verifier: Verifier, sources: tuple[Source, ...]) -> None:
        self.name = verifier.name
        self._verifier = verifier
        self._sources = sources

    def verify(
        self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None
    ) -> VerifiedEvent | Handshake:
        verified = self._verifier.verify(body, headers, url)
        if isinstance(verified, Handshake):
            return verified
        document = parse_json(verified.document or verified.payload)  # a form's or a batch's object too
        return replace(verified, event_id=agreed(self._sources, headers, document, "id"))
