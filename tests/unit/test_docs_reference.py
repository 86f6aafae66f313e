"""The reference pages in docs/reference/ are what scripts/docs_reference.py renders from the code
now; the schema page, which needs a Postgres, is checked in tests/acceptance/test_docs_schema.py."""

from __future__ import annotations

import re
from typing import get_args

from scripts import docs_reference
from webhook_server.schemes.base import REASONS, Reason


def test_the_generated_reference_pages_are_current() -> None:
    stale = docs_reference.stale_pages(database_url=None)
    assert not stale, f"{sorted(str(path) for path in stale)} differ from the code: run scripts/docs reference"


def test_every_refusal_reason_has_a_meaning() -> None:
    assert list(REASONS) == list(get_args(Reason))


def test_a_stale_page_is_reported(monkeypatch) -> None:
    """The check can fail: a page whose source changed is listed, with the text it should have."""
    monkeypatch.setitem(docs_reference.PAGES, "exit-codes.md", lambda: "# Exit codes\n\nchanged\n")
    stale = docs_reference.stale_pages(database_url=None)
    assert [path.name for path in stale] == ["exit-codes.md"]
    assert stale[docs_reference.REFERENCE / "exit-codes.md"].endswith("changed\n")


def test_the_readme_s_links_reach_files_that_exist() -> None:
    """The README is read on the forge, not built by mkdocs: its links into docs/ are checked here."""
    root = docs_reference.ROOT
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", (root / "README.md").read_text(encoding="utf-8"))
    relative = [target for target in targets if "://" not in target]
    assert relative, "the README links into the docs"
    assert not [target for target in relative if not (root / target).exists()]
