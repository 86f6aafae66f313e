"""The ``/metrics`` endpoint of a process that has no web server (the worker, the forwarder).

prometheus_client's small HTTP server answers on a thread of its own, from a registry holding the
process's own collector and the standard process metrics (memory, CPU, open files, start time).
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server
from prometheus_client.registry import Collector

from webhook_server.errors import ConfigError

logger = logging.getLogger(__name__)


def serve(variable: str, bind: tuple[str, int] | None, collector: Collector, *, process: str) -> bool:
    """Answer ``GET /metrics`` on ``bind`` (port 0 picks one) when the setting ``variable`` gave one.

    Returns whether it serves; ConfigError naming ``variable`` when the address cannot be bound.
    """
    if bind is None:
        return False
    host, port = bind
    registry = CollectorRegistry()
    registry.register(collector)
    ProcessCollector(registry=registry)
    try:
        server, _ = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ConfigError(
            variable, f"cannot listen on {host}:{port} ({exc.strerror}); give each {process} on a host its own port"
        ) from None
    logger.info("metrics on http://%s:%s/metrics", host, server.server_port)
    return True
