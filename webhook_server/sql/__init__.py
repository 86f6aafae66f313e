"""SQL kept in ``.sql`` files: named queries in ``queries/``, numbered migrations in ``migrations/``,
and the local spool's SQLite statements in ``spool/``.

Keeping statements out of Python strings lets them be read, diffed and run in psql as they are.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

_MIGRATION_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        """How it is named to people: ``0002_processing``."""
        return f"{self.version:04d}_{self.name}"


@functools.cache
def query(name: str, folder: str = "queries") -> str:
    """The text of ``<folder>/<name>.sql``: ``queries/`` for Postgres, ``spool/`` for the SQLite spool."""
    return resources.files(__package__).joinpath(folder, f"{name}.sql").read_text(encoding="utf-8")


def migrations() -> list[Migration]:
    """Every migration shipped with the package, in version order."""
    found = []
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda migration: migration.version)
