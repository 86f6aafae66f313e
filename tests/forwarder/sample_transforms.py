"""A destination's transform for the tests: slims an event, drops some, fails on others."""

from __future__ import annotations

from webhook_server.forwarder.transforms import ForwardedEvent


def slim(event: ForwardedEvent) -> object:
    if event.event_id.endswith("1"):
        return None
    if event.event_id.endswith("2"):
        raise ValueError(f"no amount in {event.event_id}")
    return {"id": event.event_id, "type": event.event_type, "amount": event.payload["data"]["amount"]}
