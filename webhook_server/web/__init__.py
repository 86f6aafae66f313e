"""The web server process: gunicorn's worker and hooks, the Flask app, and the ingest core both
serve deliveries with (see the README's Layout for the path through it)."""
