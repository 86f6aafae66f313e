"""One publish to a NATS JetStream subject: the stored body, its id for JetStream's dedupe.

``nats-py`` is asyncio; a destination's threads share one connection, driven by an event loop
on a thread of its own (``NatsConnection``), and each sender waits for its publish's
acknowledgement with the destination's ``timeout``. The message carries the same headers as an
HTTP delivery (``webhook-id``, ``webhook-timestamp``, ``webhook-signature`` with the destination's
secret, the event's endpoint and type) and ``Nats-Msg-Id`` = the ``webhook-id``: JetStream drops
a second publish of the same id within the stream's duplicate window (2 minutes by default), so a
publish retried after a lost acknowledgement, or by another forwarder after a kill -9, is stored
once. Only an acknowledgement counts as delivered; a duplicate's acknowledgement too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from datetime import UTC, datetime

import nats
import nats.js.errors
import standardwebhooks
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from webhook_server.destinations_file import DestinationSpec
from webhook_server.forwarder.http_sender import Message, Result, tls_context

logger = logging.getLogger(__name__)

MSG_ID_HEADER = "Nats-Msg-Id"


class NatsConnection:
    """A destination's NATS connection and the loop thread that drives it; connected on first use."""

    def __init__(self, spec: DestinationSpec) -> None:
        self._spec = spec
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"nats {spec.name}", daemon=True)
        self._thread.start()
        self._lock = asyncio.Lock()
        self._client: Client | None = None
        self._stream: JetStreamContext | None = None

    def publish(self, message: Message, headers: dict[str, str]) -> concurrent.futures.Future[object]:
        return asyncio.run_coroutine_threadsafe(self._publish(message, headers), self._loop)

    def close(self) -> None:
        """Close the connection (a failure to is logged: the process is stopping) and end the loop."""
        if self._client is not None:
            try:
                asyncio.run_coroutine_threadsafe(self._client.close(), self._loop).result(self._spec.timeout)
            except Exception as exc:  # nats-py's own errors, asyncio's timeout: nothing to do but say so
                logger.warning("destination %s: closing the NATS connection failed: %s", self._spec.name, exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(self._spec.timeout)

    async def _publish(self, message: Message, headers: dict[str, str]) -> object:
        stream = await self._jetstream()
        return await stream.publish(self._spec.subject, message.body, timeout=self._spec.timeout, headers=headers)

    async def _jetstream(self) -> JetStreamContext:
        async with self._lock:
            if self._client is None or self._client.is_closed or self._stream is None:
                self._client = await nats.connect(
                    self._spec.url,
                    tls=tls_context(self._spec) if self._spec.url.startswith("tls://") else None,
                    connect_timeout=self._spec.connect_timeout,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                )
                self._stream = self._client.jetstream()
            return self._stream


class NatsSender:
    """One thread's publishes to one destination, over the connection the destination's threads share."""

    def __init__(self, spec: DestinationSpec, connection: NatsConnection) -> None:
        self._spec = spec
        self._connection = connection
        self._signer = standardwebhooks.Webhook(spec.secret)
        self._lock = threading.Lock()
        self._running: concurrent.futures.Future[object] | None = None

    def send(self, message: Message) -> Result:
        started = time.monotonic()
        now = datetime.now(UTC)
        headers = {
            **message.headers,
            MSG_ID_HEADER: message.webhook_id,
            "webhook-id": message.webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self._signer.sign(message.webhook_id, now, message.body),
        }
        future = self._connection.publish(message, headers)
        with self._lock:
            self._running = future
        try:
            future.result(timeout=self._spec.timeout)
        except (TimeoutError, concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            future.cancel()
            return Result(False, time.monotonic() - started, error=self._timed_out(started))
        except nats.js.errors.NoStreamResponseError:
            return Result(
                False,
                time.monotonic() - started,
                error=f"no JetStream stream takes subject {self._spec.subject}; create one "
                f"(nats stream add --subjects '{self._spec.subject}')",
            )
        except Exception as exc:  # nats-py raises its own errors and asyncio's; each is this attempt's failure
            return Result(False, time.monotonic() - started, error=f"{type(exc).__name__}: {exc}"[:500])
        finally:
            with self._lock:
                self._running = None
        return Result(True, time.monotonic() - started)

    def abort(self) -> None:
        with self._lock:
            if self._running is not None:
                self._running.cancel()

    def close(self) -> None:
        """The connection is the destination's, closed by its lane."""

    def _timed_out(self, started: float) -> str:
        return f"timed out after {time.monotonic() - started:.1f} s waiting for JetStream's acknowledgement"
