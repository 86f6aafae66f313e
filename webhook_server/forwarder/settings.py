"""What ``webhook-server forward`` reads from the environment, validated at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from webhook_server import db, destinations_file
from webhook_server.destinations_file import DestinationSpec
from webhook_server.environment import Env


@dataclass(frozen=True)
class ForwarderSettings:
    """The forwarder's process settings; each destination's own are in its table of the file."""

    database_url: str
    destinations: tuple[DestinationSpec, ...]
    poll_interval: float = 5.0
    fan_out_batch: int = 500
    shutdown_cap: float = 10.0
    db_timeout: float = 5.0
    metrics_bind: tuple[str, int] | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ForwarderSettings:
        """Read and validate the environment and the destinations file; ConfigError names what to fix."""
        environ = os.environ if environ is None else environ
        env = Env(environ)
        db.pooled(environ)  # a wrong WEBHOOK_DB_POOLER stops the start, not the first connection
        return cls(
            database_url=env.required_secret(
                "DATABASE_URL", "set it to the Postgres URL the server stores events in, e.g. postgresql://…/webhooks"
            ),
            destinations=destinations_file.from_environ(environ),
            poll_interval=env.number("WEBHOOK_FORWARD_POLL", cls.poll_interval, minimum=0.05),
            fan_out_batch=int(env.number("WEBHOOK_FORWARD_BATCH", cls.fan_out_batch, minimum=1)),
            shutdown_cap=env.number("WEBHOOK_SHUTDOWN_CAP", cls.shutdown_cap, minimum=3.0),
            db_timeout=env.number("WEBHOOK_DB_TIMEOUT", cls.db_timeout, minimum=0.1),
            metrics_bind=env.address("WEBHOOK_FORWARD_METRICS_BIND"),
        )
