"""gunicorn's settings for the dashboard (``-c python:webhook_server.dashboard.gunicorn_config``).

Small on purpose, and apart from the webhook server's (webhook_server.serving.config): none of
its drain, metrics or slow-client machinery, which protect the senders' path. One worker, so the
pause after a wrong password serialises every guess; threads for a few operators at once.
"""

from __future__ import annotations

import sys

from webhook_server import logs
from webhook_server.dashboard.database import POOL_SIZE
from webhook_server.dashboard.settings import DashboardSettings
from webhook_server.errors import EXIT_CONFIG, ConfigError

try:
    settings = DashboardSettings.from_env()
except ConfigError as error:
    print(f"webhook-server dashboard: configuration error: {error}", file=sys.stderr)
    sys.exit(EXIT_CONFIG)

logs.configure(settings.log_level)

wsgi_app = "webhook_server.dashboard.wsgi:app"
bind = settings.bind
workers = 1
worker_class = "gthread"
threads = POOL_SIZE
# The overview reads the whole table (counts by status): seconds on many millions of rows.
timeout = 60
graceful_timeout = 5
# Since 25.1 gunicorn opens a control socket at a fixed path; the webhook server's would clash.
control_socket_disable = True
logger_class = logs.JsonGunicornLogger
accesslog = "-"
errorlog = "-"
loglevel = settings.log_level
# The pool opens in the worker, after the fork.
preload_app = False
