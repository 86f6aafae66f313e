"""What the dashboard reads from the environment, validated before gunicorn starts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from webhook_server import db
from webhook_server.environment import Env
from webhook_server.errors import ConfigError
from webhook_server.settings import Settings

# Shorter passwords are refused: the sign-in slows guesses down, it does not stop them.
MIN_PASSWORD_LENGTH = 12
PASSWORD_HOW_TO = (
    f"set it to a password of at least {MIN_PASSWORD_LENGTH} characters, e.g. the output of "
    "`python3 -c 'import secrets; print(secrets.token_urlsafe(24))'`"
)
# The passwords the shipped examples show (deploy/systemd/dashboard.env.example, the README):
# copied as they are, anyone who has read them knows the password.
# Every password a shipped example has shown (dashboard.env.example's, before it became a credential).
EXAMPLE_PASSWORDS = frozenset({"change-me-to-a-long-random-password"})
STATE_DIR_HOW_TO = (
    "set it to a directory only the dashboard's user can read, kept across restarts "
    "(systemd: StateDirectory=webhook-dashboard sets STATE_DIRECTORY for it)"
)


@dataclass(frozen=True)
class DashboardSettings:
    """Everything the dashboard process reads from the environment."""

    database_url: str
    password: str = field(repr=False)
    # Where the key that signs session cookies is kept (webhook_server/dashboard/sessions.py).
    state_dir: Path = Path(".")
    bind: str = "127.0.0.1:8100"
    # Served to browsers over https (directly or behind a TLS proxy): the session cookie is Secure.
    tls: bool = False
    db_timeout: float = 5.0
    # Each request must arrive in full within this many seconds (webhook_server/read_deadlines.py).
    read_timeout: float = 10.0
    log_level: str = "info"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DashboardSettings:
        """Read and validate the environment; raise ConfigError naming the first bad variable."""
        env = Env(os.environ if environ is None else environ)
        password = env.required_secret("WEBHOOK_DASHBOARD_PASSWORD", PASSWORD_HOW_TO)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ConfigError("WEBHOOK_DASHBOARD_PASSWORD", f"too short; {PASSWORD_HOW_TO}")
        if password in EXAMPLE_PASSWORDS:
            raise ConfigError("WEBHOOK_DASHBOARD_PASSWORD", f"that is the example's password; {PASSWORD_HOW_TO}")
        bind = env.text("WEBHOOK_DASHBOARD_BIND", cls.bind)
        if bind == env.text("WEBHOOK_BIND", Settings.bind):
            raise ConfigError(
                "WEBHOOK_DASHBOARD_BIND",
                f"{bind} is the webhook server's address (WEBHOOK_BIND); give the dashboard a port of its own, "
                f"e.g. {cls.bind}",
            )
        db.pooled(environ)  # a wrong WEBHOOK_DB_POOLER stops the start, not the first page
        return cls(
            database_url=env.required_secret(
                "DATABASE_URL", "set it to the Postgres URL the server stores events in, e.g. postgresql://…/webhooks"
            ),
            password=password,
            state_dir=_state_dir(env),
            bind=bind,
            tls=env.choice("WEBHOOK_DASHBOARD_TLS", "off", ("on", "off")) == "on",
            db_timeout=env.number("WEBHOOK_DB_TIMEOUT", cls.db_timeout, minimum=0.1),
            read_timeout=env.number("WEBHOOK_READ_TIMEOUT", cls.read_timeout, minimum=1.0),
            log_level=env.choice("WEBHOOK_LOG_LEVEL", cls.log_level, ("debug", "info", "warning", "error")),
        )


def _state_dir(env: Env) -> Path:
    """WEBHOOK_DASHBOARD_STATE_DIR, else systemd's STATE_DIRECTORY; required, writable, and private."""
    name = "WEBHOOK_DASHBOARD_STATE_DIR" if env.text("WEBHOOK_DASHBOARD_STATE_DIR", "") else "STATE_DIRECTORY"
    path = env.private_directory(name, STATE_DIR_HOW_TO)
    if path is None:
        raise ConfigError("WEBHOOK_DASHBOARD_STATE_DIR", f"not set; {STATE_DIR_HOW_TO}")
    return path
