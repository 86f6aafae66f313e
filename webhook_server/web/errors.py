"""Every error as a JSON body ``{"error": code, "message": what to do}``, never an HTML page.

Bodies go to whoever sent the request, so they say what the sender can act on and nothing about
this server: a 503 says "retry later" (Postgres' own text, with host, role and database names,
goes to the log), a 404 names no configured scheme or endpoint.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.wrappers import Response as BaseResponse

from webhook_server.errors import DatabaseUnavailable
from webhook_server.schemes import Rejected
from webhook_server.web import metrics
from webhook_server.web.ingest import PREFIX
from webhook_server.web.receiver import receiver_of

logger = logging.getLogger(__name__)

# Senders that honour it (Standard Webhooks) come back after this many seconds.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_MESSAGE = "the event was not stored; retry later"
# A path no route matches, such as /webhook/stripe: werkzeug's text told the sender to check the
# spelling, not what the paths are. It names their form only, never a configured endpoint.
NO_ROUTE_MESSAGE = f"no such path; webhooks are posted to {PREFIX}<endpoint>"


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify(error=code, message=message), status


def _refused(reason: str, message: str) -> tuple[Response, int]:
    """A delivery refused for good: counted by endpoint and reason; the body is never logged."""
    _count_rejection(reason)
    return _error(400, reason, message)


def _count_rejection(reason: str) -> None:
    """Count a refused delivery to a configured endpoint; other paths are anyone's text, and a
    label per made-up endpoint name would grow without bound (they show in the requests metric)."""
    endpoint = (request.view_args or {}).get("endpoint_name")
    if endpoint in receiver_of(current_app).endpoints:
        metrics.of_endpoint(metrics.REJECTIONS, endpoint, reason).inc()


def init_app(app: Flask) -> None:
    @app.errorhandler(Rejected)
    def rejected(exc: Rejected) -> tuple[Response, int]:
        logger.info("rejected: %s", exc, extra={"reason": exc.reason})
        return _refused(exc.reason, str(exc))

    @app.errorhandler(DatabaseUnavailable)
    def unavailable(exc: DatabaseUnavailable) -> tuple[Response, int]:
        logger.error("database unavailable: %s", exc)
        metrics.DATABASE_ERRORS.inc()
        response, status = _error(503, "database_unavailable", UNAVAILABLE_MESSAGE)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> BaseResponse:
        response = exc.get_response()  # keeps the status and headers such as Allow on a 405
        code = (exc.name or "error").lower().replace(" ", "_")
        if response.status_code < 500:  # e.g. 413, refused before any verifier saw the request
            _count_rejection(code)
        unrouted = isinstance(exc, NotFound) and exc is request.routing_exception
        message = NO_ROUTE_MESSAGE if unrouted else exc.description or exc.name
        response.set_data(json.dumps({"error": code, "message": message}))
        response.content_type = "application/json"
        return response
