"""Deprecated name of webhook_server.web.config, for one release (CHANGELOG.md)."""

from webhook_server.web.config import *  # noqa: F403
from webhook_server.web.config import __all__  # noqa: F401
