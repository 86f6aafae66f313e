"""A small stand-in for Stripe's Events API, served on loopback, so reconcile runs with nothing leaving the machine.

It answers ``GET /v1/events`` the way Stripe documents it: newest first, ``limit`` 1 to 100,
``starting_after`` pagination with ``has_more``, ``created[gte]``, ``types[]`` and
``delivery_success`` filters, a Bearer key checked on every request. Every request's query is
recorded so tests can see what the SDK asked for.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from werkzeug.datastructures import MultiDict
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

API_KEY = "rk_test_fake_events_read"


@dataclass
class FakeStripe:
    """Events as Stripe keeps them, and the queries received, newest event first."""

    events: list[dict[str, Any]] = field(default_factory=list)
    undelivered: set[str] = field(default_factory=set)
    queries: list[MultiDict[str, str]] = field(default_factory=list)
    url: str = ""

    def add(self, event: dict[str, Any], *, delivered: bool = True) -> None:
        """Keep ``event``; Stripe lists by ``created`` descending."""
        self.events.append(event)
        self.events.sort(key=lambda e: e["created"], reverse=True)
        if not delivered:
            self.undelivered.add(event["id"])

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self._respond(Request(environ))(environ, start_response)

    def _respond(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _error(401, "invalid_request_error", "Invalid API Key provided")
        if request.method != "GET" or request.path != "/v1/events":
            return _error(404, "invalid_request_error", f"Unrecognized request URL ({request.method}: {request.path})")
        self.queries.append(request.args.copy())
        try:
            return _json(200, self._page(request.args))
        except ValueError as exc:
            return _error(400, "invalid_request_error", str(exc))

    def _page(self, args: MultiDict[str, str]) -> dict[str, Any]:
        limit = int(args.get("limit", "10"))
        if not 1 <= limit <= 100:
            raise ValueError("limit must be between 1 and 100")
        selected = self.events
        if "created[gte]" in args:
            selected = [e for e in selected if e["created"] >= int(args["created[gte]"])]
        types = [value for key, value in args.items(multi=True) if key.startswith("types[")]
        if types:
            selected = [e for e in selected if e["type"] in types]
        if args.get("delivery_success") == "false":
            selected = [e for e in selected if e["id"] in self.undelivered]
        if "starting_after" in args:
            ids = [e["id"] for e in selected]
            if args["starting_after"] not in ids:
                raise ValueError(f"No such event: {args['starting_after']!r}")
            selected = selected[ids.index(args["starting_after"]) + 1 :]
        return {
            "object": "list",
            "url": "/v1/events",
            "has_more": len(selected) > limit,
            "data": selected[:limit],
        }


def _json(status: int, document: dict[str, Any]) -> Response:
    return Response(json.dumps(document), status=status, content_type="application/json")


def _error(status: int, kind: str, message: str) -> Response:
    return _json(status, {"error": {"type": kind, "message": message}})


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """No access log lines in the test output."""


class _FakeApi(Protocol):
    url: str

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any: ...


FakeApi = TypeVar("FakeApi", bound=_FakeApi)


@contextmanager
def serve(fake: FakeApi) -> Iterator[FakeApi]:
    """Serve ``fake`` (this one, or another fake API) on a free loopback port in a thread; ``fake.url`` is its base."""
    server = make_server("127.0.0.1", 0, fake, threaded=True, request_handler=_QuietHandler)
    # A short poll interval so that shutdown() returns at once, not after half a second.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-api", daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield fake
    finally:
        server.shutdown()
        thread.join(5)
