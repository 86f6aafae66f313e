"""The previous release's names for gunicorn's configuration and target still start the server
(its systemd units name them in ExecStart), for one release."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# In a process of its own: importing gunicorn's configuration sets PROMETHEUS_MULTIPROC_DIR.
CHECK = """
import webhook_server.serving.config as old_config, webhook_server.web.config as config
import webhook_server.wsgi as old_wsgi, webhook_server.web.wsgi as wsgi
assert all(getattr(old_config, name) is getattr(config, name) for name in config.__all__)
assert old_wsgi.app is wsgi.app
"""


def test_the_old_modules_serve_what_the_new_ones_do(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://db/webhooks",
        "STRIPE_WEBHOOK_SECRET": "whsec_abc",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    result = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
