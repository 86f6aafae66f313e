"""docs/reference/schema.md is what the migrations make: rendered from the tests' migrated Postgres.

In the acceptance suite, which runs once, on the embedded Postgres 18: the catalog's wording of
a constraint or an index can differ between major versions."""

from __future__ import annotations

from scripts import docs_reference


def test_the_schema_page_is_current(database_url: str) -> None:
    page = docs_reference.REFERENCE / docs_reference.SCHEMA_PAGE
    path, text = docs_reference.rendered(docs_reference.SCHEMA_PAGE, docs_reference.schema_page(database_url))
    assert path == page
    assert page.read_text(encoding="utf-8") == text, "docs/reference/schema.md differs: run scripts/docs reference"
