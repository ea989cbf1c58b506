"""A catalog entry: a model's Leonardo face, its quality defaults and where its weights are.

Catalog files keep one flat TOML table per row (`[[model]]`, `[[fallback]]`), so operators write
plain key = value lines; `CatalogEntry.from_row` sorts those keys into the parts (face, weights,
quality, licensing) and `to_row` flattens them back. The parts' field names are the row keys: adding a field to a part
adds a key to the format.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from sfumato.catalog.licences import Licensing

# A diffusers folder is complete once this file is in it (written last by save_pretrained).
DIFFUSERS_MARKER = "model_index.json"


class CatalogFormatError(ValueError):
    """A catalog file or row Sfumato cannot read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class LeonardoFace:
    """What Leonardo's API shows of the model (`/platformModels`, `/models/{id}`, webhooks).

    `id` is None for `[[fallback]]` rows, which serve requests by `sd_version` instead.
    """

    id: str | None
    name: str
    sd_version: str
    native_width: int
    native_height: int
    description: str = ""
    featured: bool = False
    nsfw: bool = False
    created_at: str | None = None
    # A photographic model: PhotoReal v1 (which takes no modelId) draws with the first installed
    # row marked so (docs/models.md), else with the model a request without modelId gets.
    photo_real: bool = False


@dataclass(frozen=True)
class QualityDefaults:
    """What a request that names no steps or guidance gets."""

    default_steps: int
    default_guidance: float
    alchemy_steps: int | None = None


@dataclass(frozen=True)
class WeightsSpec:
    """Where the weights come from and where they are expected under the models dir.

    One of `repo` (a Hugging Face repo id), `path` (a local diffusers folder), `builtin` or
    `file` (a single-file .safetensors checkpoint, loaded offline with the configs and tokenizer
    of the local diffusers folder `config`) names them.
    """

    repo: str | None = None
    # Pin `repo` to a branch, tag or commit (default: main), and pick a weights variant such as
    # "fp16" (files named `*.fp16.safetensors`: half the download, loaded with `variant=`).
    revision: str | None = None
    variant: str | None = None
    path: str | None = None
    builtin: str | None = None
    file: str | None = None
    config: str | None = None
    # A replacement denoiser: the diffusers-format UNet weights file `unet_file` from hub repo
    # `unet_repo`, loaded into the `repo` pipeline in place of its own UNet (SDXL-Lightning ships
    # only such files, meant for SDXL base 1.0).
    unet_repo: str | None = None
    unet_file: str | None = None

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
        """Where the diffusers folder (or, for `file` rows, the checkpoint) is expected."""
        if self.file:
            return _under(models_dir, self.file)
        if self.path:
            return _under(models_dir, self.path)
        if self.builtin:
            return models_dir / f"sfumato-{self.builtin}"
        assert self.repo, "a catalog row needs one of repo, path, file or builtin"
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


# The parts a flat row is sorted into, in the order `to_row` writes their keys.
_PARTS = (LeonardoFace, WeightsSpec, QualityDefaults, Licensing)
_ROW_KEYS = ["family", *(f.name for part in _PARTS for f in fields(part))]
_REQUIRED_KEYS = ["family", *(f.name for part in _PARTS for f in fields(part) if f.default is MISSING)]


def _keys_of(part: Any, row: Mapping[str, Any]) -> dict[str, Any]:
    return {f.name: row[f.name] for f in fields(part) if f.name in row}


@dataclass(frozen=True)
class CatalogEntry:
    """One servable model: its Leonardo face, the diffusers family that renders it, quality
    defaults and weights. `id` and `name` read through to the face: every message names them."""

    face: LeonardoFace
    family: str
    quality: QualityDefaults
    weights: WeightsSpec
    # Its licence and gating, and what serves it when the server is commercial-only (`licences.py`).
    licensing: Licensing = field(default_factory=Licensing)

    @property
    def id(self) -> str | None:
        return self.face.id

    @property
    def name(self) -> str:
        return self.face.name

    @classmethod
    def from_row(cls, row: Mapping[str, Any], where: str = "catalog row") -> CatalogEntry:
        """Parse one flat catalog row; `where` (file and table) prefixes the error for a bad key."""
        for key in row:
            if key not in _ROW_KEYS:
                close = difflib.get_close_matches(key, _ROW_KEYS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise CatalogFormatError(f"{where}: unknown key {key!r}{hint}")
        for key in _REQUIRED_KEYS:
            if key not in row:
                raise CatalogFormatError(f"{where}: missing key {key!r}")
        return cls(
            face=LeonardoFace(**_keys_of(LeonardoFace, row)),
            family=row["family"],
            quality=QualityDefaults(**_keys_of(QualityDefaults, row)),
            weights=WeightsSpec(**_keys_of(WeightsSpec, row)),
            licensing=Licensing(**_keys_of(Licensing, row)),
        )

    def to_row(self) -> dict[str, Any]:
        """The flat row `from_row` reads back; keys left at their default are left out."""
        row = {"id": self.id, "name": self.name, "family": self.family}
        for part in (self.face, self.weights, self.quality, self.licensing):
            row |= {f.name: getattr(part, f.name) for f in fields(part) if getattr(part, f.name) != f.default}
        return {key: value for key, value in row.items() if value is not None}
