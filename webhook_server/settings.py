"""One frozen settings object, read from the environment and validated once at start.

Every value has a default that is safe in production except the two that cannot have one:
``DATABASE_URL`` and at least one provider secret. A bad value stops the server before it
binds, with a message that names the variable and says what to put there.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from webhook_server.errors import ConfigError

# The master needs this much of the cap after the drain to SIGKILL stuck workers, reap them
# and exit; measured at about 0.1 s on a busy 2-core machine, so 1 s leaves room.
EXIT_MARGIN_SECONDS = 1.0
# The least time in-flight requests get to finish once the listeners close.
MIN_DRAIN_SECONDS = 1.0


@dataclass(frozen=True)
class Settings:
    """Everything the server reads from the environment."""

    database_url: str
    stripe_secrets: tuple[str, ...]
    bind: str = "127.0.0.1:8000"
    shutdown_cap: float = 10.0
    drain_announce: float = 3.0
    max_body_bytes: int = 1024 * 1024
    db_timeout: float = 1.5
    workers: int = 2
    threads: int = 8
    log_level: str = "info"
    read_timeout: float = 10.0

    @property
    def graceful_timeout(self) -> int:
        """What gunicorn's ``graceful_timeout`` must be for SIGTERM → exit to fit in the cap.

        gunicorn counts it from the start of its stop, which begins after the announce, and
        takes whole seconds: rounding down keeps the sum inside the cap.
        """
        return math.floor(self.shutdown_cap - self.drain_announce - EXIT_MARGIN_SECONDS)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the environment; raise ConfigError naming the first bad variable."""
        env = _Env(os.environ if environ is None else environ)
        settings = cls(
            database_url=env.required(
                "DATABASE_URL",
                "set it to the Postgres URL, e.g. postgresql://user:pass@host:5432/webhooks "
                "(or run `webhook-server dev` for a throwaway local database)",
            ),
            stripe_secrets=_stripe_secrets(env),
            bind=env.text("WEBHOOK_BIND", cls.bind),
            shutdown_cap=env.number("WEBHOOK_SHUTDOWN_CAP", cls.shutdown_cap, minimum=3.0),
            drain_announce=env.number("WEBHOOK_DRAIN_ANNOUNCE", _default_announce(env), minimum=0.0),
            max_body_bytes=int(env.number("WEBHOOK_MAX_BODY_BYTES", cls.max_body_bytes, minimum=1024)),
            db_timeout=env.number("WEBHOOK_DB_TIMEOUT", cls.db_timeout, minimum=0.1),
            workers=int(env.number("WEBHOOK_WORKERS", cls.workers, minimum=1)),
            threads=int(env.number("WEBHOOK_THREADS", cls.threads, minimum=1)),
            log_level=env.choice("WEBHOOK_LOG_LEVEL", cls.log_level, ("debug", "info", "warning", "error")),
            read_timeout=env.number("WEBHOOK_READ_TIMEOUT", cls.read_timeout, minimum=1.0),
        )
        if settings.graceful_timeout < MIN_DRAIN_SECONDS:
            longest = settings.shutdown_cap - EXIT_MARGIN_SECONDS - MIN_DRAIN_SECONDS
            raise ConfigError(
                "WEBHOOK_DRAIN_ANNOUNCE",
                f"{settings.drain_announce:g} s leaves no time to drain in-flight requests within "
                f"WEBHOOK_SHUTDOWN_CAP={settings.shutdown_cap:g} s; use at most {longest:g} s "
                "or raise the cap",
            )
        return settings


def _default_announce(env: _Env) -> float:
    """No announce under socket activation (systemd passes LISTEN_FDS): the socket outlives the
    process and the next one accepts from it, so there is no balancer to tell and no reason to wait.
    """
    return 0.0 if env.text("LISTEN_FDS", "") else Settings.drain_announce


def _stripe_secrets(env: _Env) -> tuple[str, ...]:
    raw = env.required(
        "STRIPE_WEBHOOK_SECRET",
        "set it to the endpoint's signing secret (whsec_…) from the Stripe Dashboard; "
        "during a rotation give both, comma-separated",
    )
    secrets = tuple(part.strip() for part in raw.split(",") if part.strip())
    for secret in secrets:
        if not secret.startswith("whsec_"):
            # Never echo the value: it may be a live API key pasted into the wrong variable.
            raise ConfigError(
                "STRIPE_WEBHOOK_SECRET",
                f"a value starting with {secret[:3]!r} is not a webhook signing secret; "
                "use the endpoint's secret, which starts with whsec_",
            )
    return secrets


class _Env:
    """Typed reads of the environment that fail with the variable's name."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str) -> str:
        value = self._environ.get(name, "").strip()
        return value or default

    def required(self, name: str, how_to_fix: str) -> str:
        value = self._environ.get(name, "").strip()
        if not value:
            raise ConfigError(name, f"not set; {how_to_fix}")
        return value

    def number(self, name: str, default: float, *, minimum: float) -> float:
        raw = self._environ.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(name, f"{raw!r} is not a number (default {default:g})") from None
        if not value >= minimum:  # also rejects NaN
            raise ConfigError(name, f"{raw} is below the minimum of {minimum:g} (default {default:g})")
        return value

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.text(name, default).lower()
        if value not in allowed:
            raise ConfigError(name, f"{value!r} is not one of {', '.join(allowed)}")
        return value
