"""The dashboard's connections: one pool per gunicorn worker, and what a page shows when Postgres fails."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from flask import Flask, current_app, render_template, request
from flask.typing import ResponseReturnValue
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout

from webhook_server import db

logger = logging.getLogger(__name__)

POOL_KEY = "webhook_dashboard_pool"
READ_POOL_KEY = "webhook_dashboard_read_pool"
# One connection per gunicorn thread (web/dashboard_config.py): no page waits for another's.
POOL_SIZE = 4


def init_app(app: Flask, database_url: str, timeout: float) -> None:
    """Open this worker's pools (create_app runs after the fork) and answer database failures with 503.

    Pages (GET) read from WEBHOOK_READ_DATABASE_URL's replica when it is set; replays (POST)
    write on the primary.
    """
    app.extensions[POOL_KEY] = db.open_pool(
        database_url, timeout=timeout, name="dashboard", size=POOL_SIZE, prepare=False
    )
    reads = db.read_url(database_url)
    app.extensions[READ_POOL_KEY] = (
        app.extensions[POOL_KEY]
        if reads == database_url
        else db.open_pool(reads, timeout=timeout, name="dashboard-reads", size=POOL_SIZE, prepare=False)
    )
    app.register_error_handler(pg_errors.UndefinedTable, _unmigrated)
    app.register_error_handler(pg_errors.UndefinedColumn, _unmigrated)
    app.register_error_handler(pg_errors.UndefinedFunction, _unmigrated)
    app.register_error_handler(PoolTimeout, _unavailable)
    app.register_error_handler(psycopg.OperationalError, _unavailable)


@contextmanager
def connection() -> Iterator[psycopg.Connection]:
    """A connection from this worker's pool (autocommit; ``conn.transaction()`` for more): the
    replica's for a page, the primary's for a form that writes."""
    key = READ_POOL_KEY if request.method in ("GET", "HEAD") else POOL_KEY
    with current_app.extensions[key].connection() as conn:
        yield conn


def _unmigrated(error: Exception) -> ResponseReturnValue:
    logger.error("the dashboard found the schema out of date: %s", error)
    problem = (
        "The database lacks migrations this version needs: run `webhook-server migrate` with the same DATABASE_URL."
    )
    return render_template("error.html", title="Schema out of date", problem=problem), 503


def _unavailable(error: Exception) -> ResponseReturnValue:
    logger.warning("the dashboard cannot reach the database: %s", error)
    problem = "Postgres did not answer in time: check that it is up and that DATABASE_URL is right, then reload."
    return render_template("error.html", title="Database unavailable", problem=problem), 503
