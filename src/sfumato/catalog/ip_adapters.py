"""`[[ip_adapter]]` rows: IP-Adapters, which condition a model on a reference picture (Leonardo's
Style, Character and Content Reference and `imagePrompts`).

A row is an auxiliary-model row (`id`, `name`, `description`, one of `repo` + `file` / `path` /
`builtin`) whose weights file is the adapter (a `.safetensors` file in h94's or XLabs' key
layout), plus:

- `family`: the model family it was trained for (`sd15`, `sdxl`, `flux`; SDXL-Lightning takes
  SDXL's);
- `image_encoder`: the CLIP vision encoder's folder (`config.json` + `model.safetensors`): a
  folder of the row's repo (`""` for the repo's top), or of `image_encoder_repo` when the encoder
  lives in another repo (XLabs' FLUX adapter uses OpenAI's CLIP ViT-L/14); for a `path` row, a
  folder path (absolute or under the models dir);
- `kinds`: the references it serves (default all four: `style`, `character`, `content`, `image`).
  The engine takes, per family and kind, the first installed real row, else the built-in one, so
  a Plus-Face row listed before the general one and serving only `character` takes Character
  References once installed.

A built-in row's folder (`<models>/sfumato-<builtin>`) holds `ip-adapter.safetensors` and
`image_encoder/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sfumato.catalog.aux_entries import AuxEntry
from sfumato.catalog.entries import CatalogFormatError

REFERENCE_KINDS = ("style", "character", "content", "image")
BUILTIN_WEIGHTS_NAME = "ip-adapter.safetensors"
BUILTIN_ENCODER_FOLDER = "image_encoder"
# What `models pull` fetches of an encoder folder (transformers reads these two).
ENCODER_FILES = ("config.json", "model.safetensors")


@dataclass(frozen=True)
class IpAdapterEntry(AuxEntry):
    """One IP-Adapter; see the module doc for the row's keys."""

    KIND: ClassVar[str] = "ip_adapter"
    family: str
    image_encoder: str = BUILTIN_ENCODER_FOLDER
    image_encoder_repo: str | None = None
    kinds: tuple[str, ...] = REFERENCE_KINDS

    @classmethod
    def _value(cls, key: str, value: Any) -> Any:
        if key in ("family", "image_encoder_repo") and not (isinstance(value, str) and value):
            raise CatalogFormatError(f"{key!r} must be a non-empty string (got {value!r})")
        if key == "image_encoder" and not isinstance(value, str):
            raise CatalogFormatError(f"'image_encoder' must be a folder path (got {value!r})")
        if key == "kinds":
            if not (isinstance(value, list) and value and all(kind in REFERENCE_KINDS for kind in value)):
                raise CatalogFormatError(f"'kinds' must be a list of {', '.join(REFERENCE_KINDS)} (got {value!r})")
            return tuple(value)
        return value

    def weights_file(self, models_dir: Path) -> Path:
        """The adapter's `.safetensors` file."""
        location = self.weights.location(models_dir)
        return location / BUILTIN_WEIGHTS_NAME if self.weights.builtin else location

    def encoder_folder(self, models_dir: Path) -> Path:
        """The CLIP vision encoder's folder (see the module doc)."""
        if self.weights.builtin:
            return self.weights.location(models_dir) / BUILTIN_ENCODER_FOLDER
        if self.weights.repo:
            repo = self.image_encoder_repo or self.weights.repo
            return models_dir / repo.replace("/", "--") / self.image_encoder
        folder = Path(self.image_encoder)
        return folder if folder.is_absolute() else models_dir / folder

    def is_installed(self, models_dir: Path) -> bool:
        """The adapter file and its encoder's files (a built-in one once its build is complete)."""
        if self.weights.builtin:
            return self.weights.is_installed(models_dir)
        encoder = self.encoder_folder(models_dir)
        return self.weights.is_installed(models_dir) and all((encoder / name).is_file() for name in ENCODER_FILES)

    def extra_pulls(self) -> tuple[tuple[str, str], ...]:
        """(repo, file) pairs `models pull` fetches beside the adapter: the encoder's files."""
        if not self.weights.repo:
            return ()
        repo = self.image_encoder_repo or self.weights.repo
        prefix = f"{self.image_encoder.strip('/')}/" if self.image_encoder.strip("/") else ""
        return tuple((repo, prefix + name) for name in ENCODER_FILES)
