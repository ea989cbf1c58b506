"""The shipped catalog as the Markdown tables docs/models.md shows (`sfumato models list --markdown`)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from sfumato.catalog.entries import CatalogEntry
from sfumato.catalog.licences import CommercialUseRefused

if TYPE_CHECKING:
    from sfumato.catalog.model_catalog import ModelCatalog


def _license_cell(entry: CatalogEntry) -> str:
    licensing = entry.licensing
    commercial = "" if licensing.commercial else " (non-commercial)"
    return f"{licensing.license}{commercial}"


def markdown_table(entries: list[CatalogEntry]) -> str:
    """The model table docs/models.md shows (a test keeps that page equal to this)."""
    lines = [
        "| Leonardo modelId | Name | Open model | Family | Native size | Licence | Gated |",
        "|---|---|---|---|---|---|---|",
    ]
    for entry in entries:
        size = f"{entry.face.native_width}\N{MULTIPLICATION SIGN}{entry.face.native_height}"
        gated = "yes" if entry.licensing.gated else ""
        lines.append(
            f"| `{entry.id}` | {entry.name} | {entry.weights.source} | {entry.family} | {size} "
            f"| {_license_cell(entry)} | {gated} |"
        )
    return "\n".join(lines) + "\n"


def slug_table(catalog: ModelCatalog) -> str:
    """The v2 slug table docs/models.md shows: what serves each slug, with references, and under
    commercial-only (asked of the catalog's own look-ups, so the page says what requests get)."""
    commercial = dataclasses.replace(catalog, commercial_only=True)
    lines = [
        "| v2 slug | Served by | With image references | Licence | Gated | Commercial-only |",
        "|---|---|---|---|---|---|",
    ]
    for name in catalog.slug_names():
        slug = catalog.slugs[name]
        counts = [0, 1] + ([slug.reference_limit + 1] if slug.reference_limit is not None else [])
        rows = [catalog.models[slug.model_for(count)] for count in counts]
        referenced = "" if rows[1] is rows[0] else rows[1].name
        if len(rows) > 2:
            referenced += f" (more than {slug.reference_limit}: {rows[2].name})"
        changes = []
        for count, row in zip(counts, rows, strict=True):
            try:
                stand_in = commercial.for_slug(name, references=count)
            except CommercialUseRefused:
                changes.append(f"{row.name} refused")
                continue
            if stand_in is not None and stand_in is not row:
                changes.append(f"{row.name} \N{RIGHTWARDS ARROW} {stand_in.name}")
        served = rows[0]
        stand_ins = "; ".join(dict.fromkeys(changes)) or "as is"
        gated = "yes" if served.licensing.gated else ""
        lines.append(f"| `{name}` | {served.name} | {referenced} | {_license_cell(served)} | {gated} | {stand_ins} |")
    return "\n".join(lines) + "\n"
