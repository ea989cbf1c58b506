"""Which model family a local diffusers folder or single-file checkpoint is, without loading it.

`sfumato models add` uses this so an operator only names a path: the family decides the
pipeline class, the native size and the quality defaults written into the catalog row.
Only small files are read: `model_index.json` and component configs, or a safetensors header.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfumato.catalog import DIFFUSERS_MARKER
from sfumato.engine.families import FAMILIES, Family, FamilyDefaults


class DetectionError(ValueError):
    """The path is not a model Sfumato can recognise; the message says why and what to do."""


SINGLE_FILE_SUFFIXES = (".safetensors",)


@dataclass(frozen=True)
class Detected:
    """The outcome of detection: the family and the row defaults for this particular model."""

    family: str
    defaults: FamilyDefaults
    single_file: bool


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DetectionError(f"cannot read {path}: {error}") from None
    if not isinstance(data, dict):
        raise DetectionError(f"{path} is not a JSON object")
    return data


def _optional_json(path: Path) -> dict[str, Any]:
    try:
        return _read_json(path)
    except DetectionError:
        return {}


def _hinted(folder: Path, family: Family) -> bool:
    """Whether any of `family`'s component-config hints holds in `folder`."""
    return any(_optional_json(folder / file).get(key) == value for (file, key), value in family.index_hints.items())


def family_of_folder(folder: Path) -> str:
    """The family of a diffusers pipeline folder, from its `model_index.json` (and, where families
    share a pipeline class, their component-config hints)."""
    index = _read_json(folder / DIFFUSERS_MARKER)
    class_name = str(index.get("_class_name", ""))
    candidates = [family for family in FAMILIES.values() if family.index_class == class_name]
    if not candidates:
        known = ", ".join(dict.fromkeys(f.index_class for f in FAMILIES.values() if f.index_class))
        raise DetectionError(f"{folder}: pipeline class {class_name!r} is not supported (known: {known})")
    hinted = [family for family in candidates if family.index_hints and _hinted(folder, family)]
    unhinted = [family for family in candidates if not family.index_hints]
    return (hinted or unhinted or candidates)[0].name


def family_of_keys(keys: list[str]) -> str | None:
    """The first family (in `FAMILIES` order) whose telltale key fragment appears, or None."""
    for family in FAMILIES.values():
        if family.key_fragment is not None and any(family.key_fragment in key for key in keys):
            return family.name
    return None


def family_of_file(path: Path) -> str:
    """The family of a single-file checkpoint, from its tensor names (the header only is read)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            keys = list(handle.keys())
    except Exception as error:  # safetensors raises its own error types for a bad header
        raise DetectionError(f"{path} is not a readable .safetensors file: {error}") from None
    family = family_of_keys(keys)
    if family is None and "conv_in.weight" in keys and any(key.startswith("down_blocks.") for key in keys):
        raise DetectionError(
            f"{path} is a bare diffusers-format UNet (like SDXL-Lightning's UNet files), not a whole model: serve it "
            "with a catalog row naming its base model and `unet_repo`/`unet_file` (see docs/models.md)"
        )
    if family is None:
        raise DetectionError(f"{path}: no known family's tensor names found (SD 1.5, SD 2, SDXL, SD3, Flux)")
    return family


def _folder_native_size(folder: Path, fallback: FamilyDefaults) -> tuple[int, int]:
    """UNet sample size times the VAE's downscale: 64*8 = 512 for SD 1.5, 8*8 = 64 for Sfumato Tiny."""
    unet = _optional_json(folder / "unet" / "config.json")
    vae = _optional_json(folder / "vae" / "config.json")
    sample = unet.get("sample_size")
    blocks = vae.get("block_out_channels")
    if isinstance(sample, int) and isinstance(blocks, list) and blocks:
        side = sample * 2 ** (len(blocks) - 1)
        return side, side
    return fallback.native_width, fallback.native_height


def detect(path: Path) -> Detected:
    """Recognise a diffusers folder or a `.safetensors` checkpoint; raise DetectionError otherwise."""
    path = Path(path)
    if path.is_dir():
        if not (path / DIFFUSERS_MARKER).is_file():
            raise DetectionError(f"{path} is a folder without {DIFFUSERS_MARKER}: not a diffusers pipeline folder")
        family = family_of_folder(path)
        base = FAMILIES[family].defaults
        width, height = _folder_native_size(path, base)
        defaults = FamilyDefaults(base.sd_version, width, height, base.default_steps, base.default_guidance)
        return Detected(family, defaults, single_file=False)
    if path.is_file():
        if path.suffix.lower() not in SINGLE_FILE_SUFFIXES:
            raise DetectionError(f"{path}: only .safetensors single-file checkpoints are supported (not pickles)")
        family = family_of_file(path)
        return Detected(family, FAMILIES[family].defaults, single_file=True)
    raise DetectionError(f"{path} does not exist")
