"""Where gunicorn's workers keep their Prometheus values; set up before prometheus_client loads.

This module must not import prometheus_client: the library picks its multiprocess mode from
``PROMETHEUS_MULTIPROC_DIR`` at import time, and gunicorn.conf.py calls ``prepare`` first.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare() -> Path:
    """A clean directory for this server's workers, named in ``PROMETHEUS_MULTIPROC_DIR``.

    The variable's directory if set (emptied: files from a previous run would be added to this
    one's totals; under systemd use ``RuntimeDirectory=``), else a new temporary one.
    """
    configured = os.environ.get(MULTIPROC_ENV)
    if not configured:
        directory = Path(tempfile.mkdtemp(prefix="webhook-server-metrics-"))
        os.environ[MULTIPROC_ENV] = str(directory)
        return directory
    directory = Path(configured)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory
