"""SQL kept in ``.sql`` files: named queries in ``queries/``, numbered migrations in ``migrations/``,
the conversion of a plain inbox to partitions in ``conversion/``, and the local spool's SQLite
statements in ``spool/``.

Keeping statements out of Python strings lets them be read, diffed and run in psql as they are.

A migration runs in one transaction unless its first line is the marker
``-- webhook-server: no-transaction``, which ``CREATE INDEX CONCURRENTLY`` needs (an index on a
populated table built without blocking inserts). Such a migration runs statement by statement,
each ending with ``;`` at the end of a line (a comment may follow it; so no function bodies), and is re-run from its
first statement when one fails: write it to be repeatable, e.g.
``DROP INDEX CONCURRENTLY IF EXISTS x;`` before ``CREATE INDEX CONCURRENTLY x …;`` (a failed
concurrent build leaves an invalid index behind).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources

_MIGRATION_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")
NO_TRANSACTION_MARKER = "-- webhook-server: no-transaction"
_STATEMENT_END = re.compile(r";[ \t]*(?:--[^\n]*)?$", re.MULTILINE)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        """How it is named to people: ``0002_processing``."""
        return f"{self.version:04d}_{self.name}"

    @property
    def transactional(self) -> bool:
        return not self.sql.startswith(NO_TRANSACTION_MARKER)

    @property
    def statements(self) -> list[str]:
        """The statements of a no-transaction migration, one by one (comment-only pieces dropped)."""
        pieces = (piece.strip() for piece in _STATEMENT_END.split(self.sql))
        return [piece for piece in pieces if any(not line.lstrip().startswith("--") for line in piece.splitlines())]


@dataclass(frozen=True)
class Statement:
    """A named query of ``queries/`` and its parameters: what a process's statement gateway returns
    (worker/statements.py, forwarder/statements.py) and its dispatcher runs."""

    name: str
    params: Mapping[str, object] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return query(self.name)


@functools.cache
def query(name: str, folder: str = "queries") -> str:
    """The text of ``<folder>/<name>.sql``: ``queries/`` for Postgres, ``spool/`` for the SQLite spool."""
    return resources.files(__package__).joinpath(folder, f"{name}.sql").read_text(encoding="utf-8")


def conversion() -> Migration:
    """The conversion of a populated inbox to partitions (``migrate --partition``): a no-transaction
    script run like a migration, but not recorded as one (``conversion/partition_inbox.sql``)."""
    return Migration(0, "partition_inbox", query("partition_inbox", folder="conversion"))


def migrations() -> list[Migration]:
    """Every migration shipped with the package, in version order."""
    found = []
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        migration = parse_migration(entry.name, entry.read_text(encoding="utf-8"))
        if migration:
            found.append(migration)
    return sorted(found, key=lambda migration: migration.version)


def parse_migration(file_name: str, text: str) -> Migration | None:
    """The migration in ``NNNN_name.sql``; None for a file not named like one."""
    match = _MIGRATION_NAME.match(file_name)
    return Migration(int(match[1]), match[2], text) if match else None
