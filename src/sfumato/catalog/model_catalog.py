"""The model catalog: which open-weight model serves each Leonardo model id.

The data lives in `catalog.toml` beside this file, plus an optional operator file (setting
`catalog_file`) and the data dir's `catalog.local.toml`, which `sfumato models add|remove`
maintain. This module reads them, answers look-ups, says where weights are expected, and
edits the local file (the only one Sfumato ever writes).
"""

from __future__ import annotations

import json
import os
import tomllib
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from sfumato.config import Settings

SHIPPED_CATALOG = Path(__file__).with_name("catalog.toml")
TINY_MODEL_ID = "5f7e2a1c-0b5d-4c3e-9a8f-1d2e3f4a5b6c"
# The spec's `modelId` default: what the official SDKs send when the caller names none.
LEONARDO_DEFAULT_MODEL_ID = "b24e16ff-06e3-43eb-8d33-4416c2d75876"
# A diffusers folder is complete once this file is in it (written last by save_pretrained).
DIFFUSERS_MARKER = "model_index.json"
# The operator catalog that `sfumato models add` writes, in the data dir.
LOCAL_CATALOG_NAME = "catalog.local.toml"


def local_catalog_path(data_dir: Path) -> Path:
    """Where `models add` records rows for this data dir."""
    return data_dir / LOCAL_CATALOG_NAME


def load_catalog(settings: Settings) -> ModelCatalog:
    """The catalog a process serves: shipped rows, the operator's file, then `models add` rows."""
    return ModelCatalog.load(settings.catalog_file, local_file=local_catalog_path(settings.data_dir))


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
    # Pin `repo` to a branch, tag or commit (default: main), and pick a weights variant such as
    # "fp16" (files named `*.fp16.safetensors`: half the download, loaded with `variant=`).
    revision: str | None = None
    variant: str | None = None
    path: str | None = None
    builtin: str | None = None
    alchemy_steps: int | None = None
    featured: bool = False
    nsfw: bool = False
    # A single-file checkpoint (.safetensors) instead of a diffusers folder, and the local
    # diffusers folder whose configs/tokenizer it is loaded with (offline, `from_single_file`).
    file: str | None = None
    config: str | None = None
    # A replacement denoiser: the diffusers-format UNet weights file `unet_file` from hub repo
    # `unet_repo`, loaded into the `repo` pipeline in place of its own UNet (SDXL-Lightning ships
    # only such files, meant for SDXL base 1.0).
    unet_repo: str | None = None
    unet_file: str | None = None
    created_at: str | None = None

    @property
    def source(self) -> str:
        """Human name of where the weights come from, for messages and listings."""
        if self.unet_repo and self.unet_file:
            return f"{self.unet_repo} ({self.unet_file}) on {self.repo or self.path}"
        return self.repo or self.path or self.file or f"built-in {self.builtin} model"

    @property
    def single_file(self) -> bool:
        return self.file is not None

    def config_dir(self, models_dir: Path) -> Path | None:
        """The diffusers folder a single-file checkpoint borrows its configs from, if any."""
        return _under(models_dir, self.config) if self.config else None

    def weights_dir(self, models_dir: Path) -> Path:
        """Where this model's diffusers folder (or, for `file` rows, its checkpoint) is expected."""
        if self.file:
            return _under(models_dir, self.file)
        if self.path:
            return _under(models_dir, self.path)
        if self.builtin:
            return models_dir / f"sfumato-{self.builtin}"
        assert self.repo, f"catalog entry {self.name!r} has neither repo, path nor builtin"
        return models_dir / self.repo.replace("/", "--")

    def unet_path(self, models_dir: Path) -> Path | None:
        """Where the replacement UNet file is expected, for rows that name one."""
        if not (self.unet_repo and self.unet_file):
            return None
        return models_dir / self.unet_repo.replace("/", "--") / self.unet_file

    def is_installed(self, models_dir: Path) -> bool:
        """A folder counts once its marker (written last) is there; a checkpoint once it exists;
        a replacement UNet once its file is there too."""
        if self.file:
            config = self.config_dir(models_dir)
            return self.weights_dir(models_dir).is_file() and (config is None or config.is_dir())
        unet = self.unet_path(models_dir)
        return (self.weights_dir(models_dir) / DIFFUSERS_MARKER).is_file() and (unet is None or unet.is_file())


def _under(models_dir: Path, location: str) -> Path:
    return Path(location) if Path(location).is_absolute() else models_dir / location


@dataclass
class ModelCatalog:
    """Look-ups by Leonardo model id and by `sd_version` fallback."""

    models: dict[str, CatalogEntry] = field(default_factory=dict)
    fallbacks: dict[str, CatalogEntry] = field(default_factory=dict)
    # Which file each model id came from last, so `models remove` can refuse shipped ids.
    origins: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def load(cls, operator_file: Path | None = None, local_file: Path | None = None) -> ModelCatalog:
        """Shipped rows, then the operator file's, then the data dir's local file (a missing local file is empty)."""
        catalog = cls()
        catalog._merge(tomllib.loads(SHIPPED_CATALOG.read_text()), SHIPPED_CATALOG)
        if operator_file is not None:
            catalog._merge(tomllib.loads(operator_file.read_text()), operator_file)
        if local_file is not None and local_file.is_file():
            catalog._merge(tomllib.loads(local_file.read_text(encoding="utf-8")), local_file)
        return catalog

    def _merge(self, data: dict[str, Any], origin: Path = SHIPPED_CATALOG) -> None:
        for row in data.get("model", []):
            entry = CatalogEntry(**row)
            self.models[str(entry.id)] = entry
            self.origins[str(entry.id)] = origin
        for row in data.get("fallback", []):
            entry = CatalogEntry(id=None, **row)
            self.fallbacks[entry.sd_version] = entry

    def get(self, model_id: str) -> CatalogEntry | None:
        return self.models.get(model_id)

    def is_shipped(self, model_id: str) -> bool:
        """True for ids the shipped catalog defines, even where another file overrides them."""
        return model_id in _shipped_ids()

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


def markdown_table(entries: list[CatalogEntry]) -> str:
    """The catalog as docs/models.md shows it (a test keeps that page equal to this)."""
    lines = ["| Leonardo modelId | Name | Open model | Family | Native size |", "|---|---|---|---|---|"]
    for entry in entries:
        size = f"{entry.native_width}\N{MULTIPLICATION SIGN}{entry.native_height}"
        lines.append(f"| `{entry.id}` | {entry.name} | {entry.source} | {entry.family} | {size} |")
    return "\n".join(lines) + "\n"


def shipped_entries() -> list[CatalogEntry]:
    """The shipped catalog's model rows in file order (no operator or local rows)."""
    return list(ModelCatalog.load().models.values())


def _shipped_ids() -> set[str]:
    return {str(row["id"]) for row in tomllib.loads(SHIPPED_CATALOG.read_text()).get("model", [])}


class CatalogEditError(ValueError):
    """A refused `models add|remove`; the message says why."""


_LOCAL_HEADER = (
    "# Models added with `sfumato models add`; `sfumato models remove ID` takes them out again.\n"
    "# Same format as the shipped catalog.toml. Hand edits are kept, comments are not.\n"
)


def _toml_value(value: object) -> str:
    """TOML for the scalar types catalog rows use; JSON string escapes are valid TOML basic strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _write_rows(local_file: Path, rows: list[dict[str, Any]]) -> None:
    """Rewrite the local file atomically, so a reader never sees half a row."""
    parts = [_LOCAL_HEADER]
    for row in rows:
        parts.append("\n[[model]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in row.items() if v is not None))
    local_file.parent.mkdir(parents=True, exist_ok=True)
    staging = local_file.with_name(f".{local_file.name}.{uuid.uuid4().hex[:8]}")
    staging.write_text("".join(parts), encoding="utf-8")
    os.replace(staging, local_file)


def _local_rows(local_file: Path) -> list[dict[str, Any]]:
    if not local_file.is_file():
        return []
    return list(tomllib.loads(local_file.read_text(encoding="utf-8")).get("model", []))


def add_local_entry(local_file: Path, entry: CatalogEntry, catalog: ModelCatalog) -> None:
    """Append a row; refused when the id is not a UUID or already names a model."""
    if entry.id is None:
        raise CatalogEditError("a model row needs an id")
    try:
        canonical = str(uuid.UUID(entry.id))
    except ValueError:
        raise CatalogEditError(f"model id {entry.id!r} is not a UUID (Leonardo model ids are)") from None
    if canonical in catalog.models:
        raise CatalogEditError(f"model id {canonical} is already in the catalog ({catalog.models[canonical].name})")
    names = [f.name for f in fields(CatalogEntry)]
    row = {name: value for name, value in asdict(entry).items() if name in names}
    row["id"] = canonical
    _write_rows(local_file, [*_local_rows(local_file), row])


def remove_local_entry(local_file: Path, model_id: str, catalog: ModelCatalog) -> CatalogEntry:
    """Drop an operator-added row; shipped ids and other files' rows are refused with the reason."""
    rows = _local_rows(local_file)
    kept = [row for row in rows if str(row.get("id")) != model_id]
    if len(kept) == len(rows):
        if catalog.is_shipped(model_id):
            raise CatalogEditError(
                f"{model_id} is a shipped catalog model and cannot be removed; override its row in an "
                "operator catalog file (setting catalog_file) instead"
            )
        origin = catalog.origins.get(model_id)
        if origin is not None:
            raise CatalogEditError(f"{model_id} comes from {origin}: edit that file to remove it")
        raise CatalogEditError(f"unknown model id {model_id}: see `sfumato models list`")
    removed = catalog.models.get(model_id) or CatalogEntry(**next(r for r in rows if str(r.get("id")) == model_id))
    _write_rows(local_file, kept)
    return removed
