"""Logs as one JSON object a line, for our own loggers and for gunicorn's error and access logs."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged.
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Format a record as a single JSON line; fields passed with ``extra=`` become keys."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._second_text = ""

    def _time(self, record: logging.LogRecord) -> str:
        """ISO 8601 in UTC with milliseconds; the seconds part is formatted once per second."""
        second = int(record.created)
        if second != self._second:  # a race between threads formats it twice, alike
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "info") -> None:
    """Send every log line to stderr as JSON: the ``webhook_server`` loggers at ``level``, the
    libraries' (psycopg_pool's reconnect warnings, …) at warning and above through the root
    logger, which would otherwise print them as plain text.

    The lines carry no source file, line or thread, so no record collects them (the logging
    HOWTO's "Optimization" switches). That, and the time formatted once a second, take an
    access line, written once per request, from 31 to 23 µs (bench/breakdown.py).
    """
    logging._srcfile = None  # type: ignore[attr-defined]  # no sys._getframe() walk per record
    logging.logThreads = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logger = logging.getLogger("webhook_server")
    logger.handlers[:] = []
    logger.setLevel(level.upper())
    logger.propagate = True


class JsonGunicornLogger(GunicornLogger):
    """gunicorn's logger with JSON lines for both its error log and its access log.

    gunicorn's ``access_log_format`` is a printf template: values with quotes in them (a
    path, a user agent) would break a JSON template, so the access entry is built as a dict.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        # gunicorn answers a request it cannot parse without the app: only ``status`` is set then.
        status = getattr(resp, "status_code", None) or int(str(resp.status).split(None, 1)[0])
        self.access_log.info(
            "%s %s %s",
            environ.get("REQUEST_METHOD"),
            environ.get("PATH_INFO"),
            status,
            extra={
                "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("PATH_INFO"),
                "status": status,
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 3),
                "remote": environ.get("REMOTE_ADDR"),
                "user_agent": environ.get("HTTP_USER_AGENT"),
            },
        )
