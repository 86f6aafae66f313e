"""Deprecated: the web process lives in webhook_server.web. Kept for one release so that systemd
units and scripts written for the previous one (``-c python:webhook_server.serving.config``) still
start; see CHANGELOG.md."""
