"""How the web server is started: gunicorn's console script with the package's configuration."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from webhook_server.errors import ConfigError

WSGI_TARGET = "webhook_server.web.wsgi:app"
CONFIG_MODULE = "webhook_server.web.config"
CONFIG_VARIABLE = "WEBHOOK_GUNICORN_CONFIG"


def gunicorn_command(*extra: str) -> list[str]:
    """The production entrypoint: gunicorn's console script (not ``python -m gunicorn``, which
    breaks USR2's re-exec).

    The configuration is the package's own module, so an installed wheel serves from any
    directory; WEBHOOK_GUNICORN_CONFIG names another file (or ``python:module``) instead.
    """
    script = Path(sys.executable).parent / "gunicorn"
    config = os.environ.get(CONFIG_VARIABLE) or f"python:{CONFIG_MODULE}"
    if not config.startswith("python:") and not Path(config).is_file():
        raise ConfigError(CONFIG_VARIABLE, f"{config} is not a file; unset it to use the shipped configuration")
    return [str(script), "-c", config, *extra, WSGI_TARGET]
