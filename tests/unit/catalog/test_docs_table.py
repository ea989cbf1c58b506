"""docs/models.md shows the shipped catalog as `sfumato models list --markdown` prints it."""

from __future__ import annotations

from pathlib import Path

from sfumato.catalog import markdown_table, shipped_entries


def test_docs_catalog_table_matches_the_shipped_catalog() -> None:
    """Editing catalog.toml without docs/models.md fails here."""
    page = (Path(__file__).parents[3] / "docs" / "models.md").read_text(encoding="utf-8")
    table = markdown_table(shipped_entries())
    assert table.count("\n") == len(shipped_entries()) + 2
    assert table in page, "docs/models.md's table is stale: paste `sfumato models list --markdown` over it"
