"""The model catalog: which open-weight model serves each Leonardo model id.

The data lives in `catalog.toml` beside this file (plus an optional operator file); this
module only reads it, answers look-ups and says where a model's weights are expected.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHIPPED_CATALOG = Path(__file__).with_name("catalog.toml")
TINY_MODEL_ID = "5f7e2a1c-0b5d-4c3e-9a8f-1d2e3f4a5b6c"
# The spec's `modelId` default: what the official SDKs send when the caller names none.
LEONARDO_DEFAULT_MODEL_ID = "b24e16ff-06e3-43eb-8d33-4416c2d75876"
# A diffusers folder is complete once this file is in it (written last by save_pretrained).
DIFFUSERS_MARKER = "model_index.json"


@dataclass(frozen=True)
class CatalogEntry:
    """One servable model. `id` is None for sd_version fallbacks (no Leonardo model id)."""

    id: str | None
    name: str
    family: str
    sd_version: str
    native_width: int
    native_height: int
    default_steps: int
    default_guidance: float
    description: str = ""
    repo: str | None = None
    path: str | None = None
    builtin: str | None = None
    alchemy_steps: int | None = None
    featured: bool = False
    nsfw: bool = False

    @property
    def source(self) -> str:
        """Human name of where the weights come from, for messages and listings."""
        return self.repo or self.path or f"built-in {self.builtin} model"

    def weights_dir(self, models_dir: Path) -> Path:
        """Where this model's diffusers folder is expected on this server."""
        if self.path:
            return Path(self.path) if Path(self.path).is_absolute() else models_dir / self.path
        if self.builtin:
            return models_dir / f"sfumato-{self.builtin}"
        assert self.repo, f"catalog entry {self.name!r} has neither repo, path nor builtin"
        return models_dir / self.repo.replace("/", "--")

    def is_installed(self, models_dir: Path) -> bool:
        return (self.weights_dir(models_dir) / DIFFUSERS_MARKER).is_file()


@dataclass
class ModelCatalog:
    """Look-ups by Leonardo model id and by `sd_version` fallback."""

    models: dict[str, CatalogEntry] = field(default_factory=dict)
    fallbacks: dict[str, CatalogEntry] = field(default_factory=dict)

    @classmethod
    def load(cls, operator_file: Path | None = None) -> ModelCatalog:
        catalog = cls()
        catalog._merge(tomllib.loads(SHIPPED_CATALOG.read_text()))
        if operator_file is not None:
            catalog._merge(tomllib.loads(operator_file.read_text()))
        return catalog

    def _merge(self, data: dict[str, Any]) -> None:
        for row in data.get("model", []):
            entry = CatalogEntry(**row)
            self.models[str(entry.id)] = entry
        for row in data.get("fallback", []):
            entry = CatalogEntry(id=None, **row)
            self.fallbacks[entry.sd_version] = entry

    def get(self, model_id: str) -> CatalogEntry | None:
        return self.models.get(model_id)

    def resolve(self, model_id: str | None, sd_version: str | None) -> CatalogEntry | None:
        """The model a request asks for: its modelId, else its sd_version, else Leonardo's default."""
        if model_id is not None:
            return self.models.get(model_id)
        if sd_version is not None:
            return self.fallbacks.get(sd_version)
        return self.models.get(LEONARDO_DEFAULT_MODEL_ID)

    @staticmethod
    def key_of(entry: CatalogEntry) -> str:
        """A stable name for an entry, stored with a job so the worker finds the same model."""
        return entry.id if entry.id is not None else f"sd_version:{entry.sd_version}"

    def resolve_key(self, key: str) -> CatalogEntry:
        if key.startswith("sd_version:"):
            return self.fallbacks[key.removeprefix("sd_version:")]
        return self.models[key]

    def listed(self) -> list[CatalogEntry]:
        """Platform models in a stable order: featured first, then by name."""
        return sorted(self.models.values(), key=lambda e: (not e.featured, e.name))
