"""`[[slug]]` rows: which catalog model serves each Leonardo v2 model slug.

A slug row names the `[[model]]` id serving prompts alone (`model`), optionally another for requests
carrying image references (`reference_model`, taking up to `reference_limit` of them), and the one
for requests with more references than that (`overflow_model`). Commercial-only stand-ins are not
here: they belong to the model rows (`commercial_model`), so a slug and a v1 id of the same model
get the same one.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from sfumato.catalog.entries import CatalogFormatError


@dataclass(frozen=True)
class SlugEntry:
    slug: str
    model: str
    reference_model: str | None = None
    reference_limit: int | None = None
    overflow_model: str | None = None
    notes: str = ""

    KIND = "slug"

    @classmethod
    def from_row(cls, row: Mapping[str, Any], where: str) -> SlugEntry:
        keys = [f.name for f in fields(cls)]
        for key in row:
            if key not in keys:
                close = difflib.get_close_matches(key, keys, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise CatalogFormatError(f"{where}: unknown key {key!r}{hint}")
        for key in ("slug", "model"):
            if not isinstance(row.get(key), str) or not row[key]:
                raise CatalogFormatError(f"{where}: missing key {key!r}")
        entry = cls(**row)
        if (entry.overflow_model is None) != (entry.reference_limit is None):
            raise CatalogFormatError(f"{where}: `overflow_model` and `reference_limit` go together")
        return entry

    def model_for(self, references: int) -> str:
        """The id of the model row serving a request with `references` image references."""
        if references <= 0:
            return self.model
        if self.overflow_model is not None and self.reference_limit is not None and references > self.reference_limit:
            return self.overflow_model
        return self.reference_model or self.model

    def model_ids(self) -> list[str]:
        """Every model row this slug may use, each once (what `models pull <slug>` fetches)."""
        named = (self.model, self.reference_model, self.overflow_model)
        return list(dict.fromkeys(model for model in named if model is not None))
