"""The shipped catalog as the Markdown table docs/models.md shows (`sfumato models list --markdown`)."""

from __future__ import annotations

from sfumato.catalog.entries import CatalogEntry


def markdown_table(entries: list[CatalogEntry]) -> str:
    """The table docs/models.md shows (a test keeps that page equal to this)."""
    lines = ["| Leonardo modelId | Name | Open model | Family | Native size |", "|---|---|---|---|---|"]
    for entry in entries:
        size = f"{entry.face.native_width}\N{MULTIPLICATION SIGN}{entry.face.native_height}"
        lines.append(f"| `{entry.id}` | {entry.name} | {entry.weights.source} | {entry.family} | {size} |")
    return "\n".join(lines) + "\n"
