"""Handlers: the user's functions that make stored events do something.

A project registers them in its own modules and names those modules in
``WEBHOOK_HANDLER_MODULES``; ``webhook-server worker`` imports them at start::

    from webhook_server.handlers import Event, handles

    @handles("stripe", "payment_intent.succeeded")
    def fulfil(event: Event) -> None:
        ...

    @handles("stripe", "invoice.paid", endpoint="stripe-eu")   # one endpoint of WEBHOOK_ENDPOINTS_FILE
    def book_in_eu(event: Event) -> None:
        ...

A handler whose effects are writes to the webhook database can have them happen exactly once::

    @handles("stripe", "invoice.paid", transactional=True)
    def record_payment(event: Event, conn: psycopg.Connection) -> None:
        conn.execute("INSERT INTO payments ...")

It runs inside one transaction on ``conn``; the worker writes the event's outcome in that same
transaction and commits once, so the writes and ``done`` are kept together or not at all.

Registration checks each handler when its module is imported, so a handler that cannot be
called the way it is registered fails the worker's start instead of every event, one retry at a time.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from webhook_server.errors import ConfigError

# The event type that catches every type of a scheme that has no handler of its own.
ANY_TYPE = "*"
# The registry's key for "every endpoint of the scheme" (an endpoint name cannot be empty).
ANY_ENDPOINT = ""
MODULES_VARIABLE = "WEBHOOK_HANDLER_MODULES"

# handler(event), or handler(event, conn) when registered with transactional=True.
Handler = Callable[..., object]


@dataclass(frozen=True, slots=True)
class Event:
    """One stored event as a handler sees it.

    Processing is at-least-once: the same event can reach a handler twice (a retry after a
    crash, a redelivery that raced), so make the handler's effect idempotent on
    ``(scheme, event_id)``, or register it ``transactional=True`` when its effects are writes
    to the webhook database. Senders do not guarantee order either: compare ``created`` (the
    sender's own clock) or the object's state instead of trusting arrival order.

    ``scheme`` is the sender's scheme (``stripe``), ``endpoint`` the route the event came to
    (``stripe`` too, or a name from WEBHOOK_ENDPOINTS_FILE such as ``stripe-eu``); ``headers``
    the request headers stored with it, by lowercase name (``x-shopify-shop-domain``).
    """

    scheme: str
    event_id: str
    type: str
    payload: dict[str, Any]
    attempt: int
    received_at: datetime
    endpoint: str
    headers: dict[str, str]

    @property
    def provider(self) -> str:
        """Deprecated since 0.1.0, removed in 0.2.0: the scheme's old name (use ``scheme``)."""
        warnings.warn("Event.provider is deprecated: use Event.scheme", DeprecationWarning, stacklevel=2)
        return self.scheme

    @property
    def created(self) -> datetime | None:
        """When the sender created the event (the payload's ``created``, Unix seconds), if it says."""
        created = self.payload.get("created")
        if isinstance(created, int | float) and not isinstance(created, bool):
            return datetime.fromtimestamp(created, UTC)
        return None


class HandlerSignatureError(TypeError):
    """A function registered with ``@handles`` cannot be called as ``handler(event)`` (or ``(event, conn)``)."""


@dataclass(frozen=True, slots=True)
class Registration:
    """A handler and how the worker calls it: ``transactional`` ones get a connection in a transaction."""

    function: Handler
    transactional: bool = False


class Registry:
    """Handlers by (scheme, event type, endpoint); ``"*"`` as the type catches the rest of a
    scheme, no endpoint means every endpoint of the scheme."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str, str], Registration] = {}

    def handles(
        self, scheme: str, event_type: str, *, endpoint: str | None = None, transactional: bool = False
    ) -> Callable[[Handler], Handler]:
        """Register the decorated function for one scheme's event type; the function is returned as is.

        ``endpoint`` narrows it to the events of one endpoint (``stripe-eu``); without it the
        handler takes the type from every endpoint of the scheme. ``transactional=True``: the
        function is called as ``handler(event, conn)`` inside a transaction that also records the
        outcome (see the module's docstring).
        """

        def register(function: Handler) -> Handler:
            _check_signature(function, transactional)
            key = (scheme, event_type, endpoint or ANY_ENDPOINT)
            existing = self._handlers.get(key)
            if existing is not None and existing.function is not function:
                raise HandlerSignatureError(
                    f"{_name(function)} and {_name(existing.function)} both handle {_describe(key)}; "
                    "keep one (a handler can call the other)"
                )
            self._handlers[key] = Registration(function, transactional)
            return function

        return register

    def lookup(self, scheme: str, event_type: str, endpoint: str | None = None) -> Registration | None:
        """The handler for this event, or None when the event is to be skipped.

        The exact type wins over ``"*"``; for each, a handler of this endpoint wins over one of
        every endpoint.
        """
        for key_type in (event_type, ANY_TYPE):
            for key_endpoint in (endpoint, ANY_ENDPOINT):
                registered = self._handlers.get((scheme, key_type, key_endpoint or ANY_ENDPOINT))
                if registered is not None:
                    return registered
        return None

    def __len__(self) -> int:
        return len(self._handlers)

    def schemes(self) -> set[str]:
        """The schemes that have at least one handler."""
        return {scheme for scheme, _, _ in self._handlers}

    def describe(self) -> list[str]:
        """``scheme type [endpoint] → module.function`` lines, for the start-up log."""
        return [
            f"{scheme} {event_type}{_at(endpoint)} → {_name(registered.function)}"
            + " (transactional)" * registered.transactional
            for (scheme, event_type, endpoint), registered in sorted(self._handlers.items())
        ]


def _describe(key: tuple[str, str, str]) -> str:
    scheme, event_type, endpoint = key
    return f"{scheme} {event_type!r}{_at(endpoint)}"


def _at(endpoint: str) -> str:
    return "" if endpoint == ANY_ENDPOINT else f" at endpoint {endpoint}"


def _check_signature(function: Handler, transactional: bool) -> None:
    if not callable(function):
        raise HandlerSignatureError(f"@handles decorates functions, not {function!r}")
    if inspect.iscoroutinefunction(function):
        raise HandlerSignatureError(
            f"{_name(function)} is async; handlers run on worker threads: make it a plain def "
            "(call asyncio.run inside it if it must await)"
        )
    usage, arguments = ("handler(event, conn)", (None, None)) if transactional else ("handler(event)", (None,))
    try:
        inspect.signature(function).bind(*arguments)
    except TypeError:
        raise HandlerSignatureError(
            f"{_name(function)}{inspect.signature(function)} cannot be called as {usage}; make it def {usage}"
        ) from None
    except ValueError:  # no signature to inspect (some builtins): let the first call tell
        pass


def _name(function: Handler) -> str:
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', repr(function))}"


# The registry that ``@handles`` fills and the worker reads.
registry = Registry()
handles = registry.handles


def load_modules(names: Iterable[str]) -> None:
    """Import each handler module, raising ConfigError with what to fix when one cannot be."""
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
                raise ConfigError(
                    MODULES_VARIABLE,
                    f"no module named {name!r}; give comma-separated import paths (my_app.webhook_handlers) "
                    "of modules installed in this environment or on PYTHONPATH",
                ) from None
            raise ConfigError(MODULES_VARIABLE, f"importing {name!r} failed: {exc}") from exc
        except HandlerSignatureError as exc:
            raise ConfigError(MODULES_VARIABLE, f"a handler in {name!r} is invalid: {exc}") from None
        except Exception as exc:
            raise ConfigError(MODULES_VARIABLE, f"importing {name!r} failed with {type(exc).__name__}: {exc}") from exc
