"""Generic HMAC endpoints, one per ``[endpoints.<name>]`` table of WEBHOOK_ENDPOINTS_FILE:
an HMAC of the raw body in one header, hex or base64, after an optional prefix.

The event id comes from a header or a JSON path, else it is the body's hash (so an identical
redelivery is a duplicate); the type likewise, else the endpoint's name. The signature covers
the body only: an id or type read from a header can be changed by whoever replays a captured
body. Where the body carries them too, list both sources: they must agree, or the delivery is
refused (``event_mismatch``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from webhook_server.schemes.base import Rejected, RequestUrl, VerifiedEvent, body_digest, identifier, json_body
from webhook_server.schemes.signing import (
    decode_signature,
    header,
    identifier_header,
    require_match,
    utf8_keys,
    without_prefix,
)


@dataclass(frozen=True)
class Source:
    """Where a value is read: ``kind`` "header" (a header name) or "json" (a dotted path)."""

    kind: str
    location: str


class GenericSpec(Protocol):
    """What the verifier reads of an endpoint (``endpoints_file.EndpointSpec`` has it all)."""

    @property
    def name(self) -> str: ...
    @property
    def secrets(self) -> tuple[str, ...]: ...
    @property
    def secret_variable(self) -> str: ...
    @property
    def header(self) -> str: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def encoding(self) -> str: ...
    @property
    def prefix(self) -> str: ...
    @property
    def event_id(self) -> tuple[Source, ...] | None: ...
    @property
    def event_type(self) -> tuple[Source, ...] | None: ...


class GenericVerifier:
    def __init__(self, spec: GenericSpec) -> None:
        self.name = spec.name
        self._spec = spec
        self._keys = utf8_keys(spec.secrets)

    def verify(self, body: bytes, headers: Mapping[str, str], url: RequestUrl | None = None) -> VerifiedEvent:
        spec = self._spec
        signed = without_prefix(header(headers, spec.header, reason="signature_missing"), spec.prefix, spec.header)
        signature = decode_signature(signed, spec.encoding, spec.header, algorithm=spec.algorithm)
        require_match(self._keys, body, signature, variable=spec.secret_variable, algorithm=spec.algorithm)
        text, document = json_body(body)
        event_id = agreed(spec.event_id, headers, document, "id") if spec.event_id else body_digest(body)
        event_type = agreed(spec.event_type, headers, document, "type") if spec.event_type else spec.name
        return VerifiedEvent(event_id, event_type, text)


def agreed(sources: tuple[Source, ...], headers: Mapping[str, str], document: dict[str, Any], what: str) -> str:
    """The value every source gives; a header that disagrees with the signed body is refused.
    Also an endpoint's own dedupe key for a named scheme (schemes/dedupe.py)."""
    first, *others = sources
    value = _read(first, headers, document)
    for source in others:
        other = _read(source, headers, document)
        if other != value:
            raise Rejected(
                "event_mismatch",
                f"the event {what} is {value!r} by {_describe(first)} but {other!r} by {_describe(source)}; "
                "the signature does not cover headers, so this may be a captured body replayed under another "
                f"{what}",
            )
    return value


def _describe(source: Source) -> str:
    return f"the {source.location} header" if source.kind == "header" else f"the body's {source.location!r}"


def _read(source: Source, headers: Mapping[str, str], document: dict[str, Any]) -> str:
    if source.kind == "header":
        return identifier_header(headers, source.location)
    value: Any = document
    for key in source.location.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    # Numbers are ids too (many APIs number their events); a boolean is not.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise Rejected("event_malformed", f"the event has no string or integer at {source.location!r}")
    return identifier(value, f"the event's {source.location!r}", "event_malformed")
