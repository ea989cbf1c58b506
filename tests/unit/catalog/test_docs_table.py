"""docs/models.md shows the shipped catalog as `sfumato models list --markdown` prints it."""

from __future__ import annotations

from pathlib import Path

from sfumato.catalog import ModelCatalog, markdown_table, shipped_entries, slug_table


def test_docs_catalog_table_matches_the_shipped_catalog() -> None:
    """Editing catalog.toml without docs/models.md fails here."""
    page = (Path(__file__).parents[3] / "docs" / "models.md").read_text(encoding="utf-8")
    table = markdown_table(shipped_entries())
    assert table.count("\n") == len(shipped_entries()) + 2
    assert table in page, "docs/models.md's table is stale: paste `sfumato models list --markdown` over it"


def test_docs_slug_table_matches_the_shipped_slugs() -> None:
    """Editing a [[slug]] row (or a row it names) without docs/models.md fails here."""
    page = (Path(__file__).parents[3] / "docs" / "models.md").read_text(encoding="utf-8")
    catalog = ModelCatalog.load()
    table = slug_table(catalog)
    assert table.count("\n") == len(catalog.slugs) + 2
    assert table in page, "docs/models.md's slug table is stale: paste `sfumato models list --markdown` over it"
