"""GitLab: no signature, the webhook's Secret token sent as it is in ``X-Gitlab-Token``,
compared in constant time with each configured secret (all of them, whatever matched).

Anyone who sees one request has the token (it is a credential, never stored as a header), and
nothing ties it to the body: only TLS protects a delivery. The event id is ``X-Gitlab-Event-UUID``
(kept when a delivery is resent), the type the body's ``object_kind`` (``push``,
``merge_request``), else ``X-Gitlab-Event`` (``Push Hook``).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from webhook_server.schemes.base import Rejected, RequestUrl, VerifiedEvent, identifier, json_body
from webhook_server.schemes.signing import SecretVerifier, header, identifier_header

TOKEN_HEADER = "X-Gitlab-Token"
ID_HEADER = "X-Gitlab-Event-UUID"


class GitLabVerifier(SecretVerifier):
    name = "gitlab"
    variable = "GITLAB_WEBHOOK_TOKEN"

    def verify(self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None) -> VerifiedEvent:
        token = header(
            headers, TOKEN_HEADER, reason="signature_missing", hint="; give the GitLab webhook a Secret token"
        ).encode("utf-8", "surrogatepass")
        if not any([hmac.compare_digest(token, key) for key in self._keys]):
            raise Rejected(
                "signature_invalid",
                f"the {TOKEN_HEADER} header matches none of the configured secrets; check {self._variable} "
                "against the webhook's Secret token in GitLab",
            )
        event_id = identifier_header(headers, ID_HEADER)
        text, document = json_body(body)
        kind = document.get("object_kind")
        if isinstance(kind, str) and kind:
            return VerifiedEvent(event_id, identifier(kind, "the event's 'object_kind'", "event_malformed"), text)
        return VerifiedEvent(event_id, identifier_header(headers, "X-Gitlab-Event"), text)
