"""The handlers `webhook-server dev` runs when WEBHOOK_HANDLER_MODULES is not set: each event of
every built-in endpoint is logged, so a new user sees the whole path, from the signed request
to the 200 to the handler, in one terminal. Replace them with a module of your own."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from webhook_server.handlers import ANY_TYPE, Event, handles
from webhook_server.settings import SECRET_VARIABLES

logger = logging.getLogger(__name__)


def log_event(event: Event) -> None:
    waited_ms = (datetime.now(UTC) - event.received_at).total_seconds() * 1000
    logger.info(
        "handled %s %s %s (attempt %s, %.0f ms after it was stored)",
        event.scheme,
        event.type,
        event.event_id,
        event.attempt,
        waited_ms,
    )


for _scheme in SECRET_VARIABLES:
    handles(_scheme, ANY_TYPE)(log_event)
