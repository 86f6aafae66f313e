"""gunicorn's settings for the dashboard (``-c python:webhook_server.dashboard.gunicorn_config``).

Small on purpose, and apart from the webhook server's (webhook_server.web.config): none of
its drain or metrics machinery, which protect the senders' path; its read deadlines, though
(webhook_server/read_deadlines.py), or a few connections that never finish a request hold
every thread. One worker, so the limit on password guesses (auth.py) is one for the whole
dashboard; threads for a few operators at once.
"""

from __future__ import annotations

import sys

from gunicorn.workers import gthread

from webhook_server import logs
from webhook_server.dashboard.database import POOL_SIZE
from webhook_server.dashboard.sessions import SessionKey
from webhook_server.dashboard.settings import DashboardSettings
from webhook_server.errors import EXIT_CONFIG, ConfigError
from webhook_server.read_deadlines import with_read_deadlines

try:
    settings = DashboardSettings.from_env()
    SessionKey(settings.state_dir, settings.password)  # made or checked now: exit 78, not a boot loop
except ConfigError as error:
    print(f"webhook-server dashboard: configuration error: {error}", file=sys.stderr)
    sys.exit(EXIT_CONFIG)

logs.configure(settings.log_level)

wsgi_app = "webhook_server.dashboard.wsgi:app"
bind = settings.bind
workers = 1
worker_class = with_read_deadlines(gthread.ThreadWorker, settings.read_timeout, on_cut_off=lambda: None)
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
