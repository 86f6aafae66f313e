"""Exceptions shared across the package, and the process exit codes they map to."""

from __future__ import annotations

# Exit codes, named so that systemd units and scripts can tell failures apart.
EXIT_OK = 0  # done as asked.
EXIT_CONFIG = 78  # EX_CONFIG from sysexits.h: fix the environment, do not restart blindly.
EXIT_DATABASE = 69  # EX_UNAVAILABLE: the database could not be reached or migrated.
EXIT_STUCK = 70  # EX_SOFTWARE: the worker's handler threads are stuck; a restart frees them.
EXIT_FAILURE = 1  # a command ran and found a problem (a failed send, replay or reconcile).


class ConfigError(Exception):
    """A setting in the environment is missing or invalid.

    The message names the variable and says what a valid value looks like, because it is
    printed as the only line an operator sees when the server refuses to start.
    """

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


class DatabaseUnavailable(Exception):
    """The inbox could not commit in time; the request is answered 503 so the sender retries."""


def first_line(exc: BaseException) -> str:
    """An exception's first line, for a log line or a message (psycopg's errors run to several)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
