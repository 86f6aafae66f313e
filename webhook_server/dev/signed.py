"""A delivery as its sender would post it: what every sample of `send` makes (samples.py, senders/)."""

from __future__ import annotations

from dataclasses import dataclass

JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class SignedSample:
    """One delivery as its sender would post it."""

    event_id: str
    event_type: str
    body: bytes
    headers: dict[str, str]
