"""The web server process: gunicorn settings and hooks, the shutdown and reload sequences, /metrics."""
