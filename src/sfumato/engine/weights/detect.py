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


class DetectionError(ValueError):
    """The path is not a model Sfumato can recognise; the message says why and what to do."""


@dataclass(frozen=True)
class FamilyDefaults:
    """What a catalog row needs that follows from the family alone."""

    sd_version: str
    native_width: int
    native_height: int
    default_steps: int
    default_guidance: float


# Kept in step with the shipped catalog's rows of each family.
FAMILY_DEFAULTS: dict[str, FamilyDefaults] = {
    "sd15": FamilyDefaults("v1_5", 512, 512, 30, 7.0),
    "sd2": FamilyDefaults("v2", 768, 768, 30, 7.0),
    "sdxl": FamilyDefaults("SDXL_1_0", 1024, 1024, 30, 7.0),
    # Never detected (a Lightning base folder is plain SDXL), listed for rows written by hand.
    "sdxl-lightning": FamilyDefaults("SDXL_LIGHTNING", 1024, 1024, 8, 1.0),
    "sd3": FamilyDefaults("v3", 1024, 1024, 30, 7.0),
    "flux": FamilyDefaults("FLUX_DEV", 1024, 1024, 30, 3.5),
    "flux-kontext": FamilyDefaults("FLUX_DEV", 1024, 1024, 28, 2.5),
}

# `_class_name` in model_index.json -> family (StableDiffusionPipeline needs a closer look).
_PIPELINE_FAMILIES = {
    "StableDiffusionXLPipeline": "sdxl",
    "StableDiffusion3Pipeline": "sd3",
    "FluxPipeline": "flux",
    "FluxKontextPipeline": "flux-kontext",
}

# Telltale tensor-name fragments of original (non-diffusers) checkpoints, checked in this order.
_KEY_FAMILIES = (
    ("conditioner.embedders.1", "sdxl"),
    ("double_blocks.", "flux"),
    ("joint_blocks.", "sd3"),
    ("cond_stage_model.model.", "sd2"),  # OpenCLIP ViT-H text encoder
    ("cond_stage_model.transformer.", "sd15"),  # OpenAI CLIP ViT-L text encoder
)

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


def _stable_diffusion_family(folder: Path) -> str:
    """SD 2.x uses an OpenCLIP-H text encoder (1024 wide) and usually v-prediction; SD 1.x neither."""
    text_config = _optional_json(folder / "text_encoder" / "config.json")
    scheduler_config = _optional_json(folder / "scheduler" / "scheduler_config.json")
    if text_config.get("hidden_size") == 1024 or scheduler_config.get("prediction_type") == "v_prediction":
        return "sd2"
    return "sd15"


def family_of_folder(folder: Path) -> str:
    """The family of a diffusers pipeline folder, from its `model_index.json`."""
    index = _read_json(folder / DIFFUSERS_MARKER)
    class_name = str(index.get("_class_name", ""))
    if class_name == "StableDiffusionPipeline":
        return _stable_diffusion_family(folder)
    family = _PIPELINE_FAMILIES.get(class_name)
    if family is None:
        known = ", ".join(["StableDiffusionPipeline", *_PIPELINE_FAMILIES])
        raise DetectionError(f"{folder}: pipeline class {class_name!r} is not supported (known: {known})")
    return family


def family_of_keys(keys: list[str]) -> str | None:
    """The family whose telltale key fragment appears first in the table, or None."""
    for fragment, family in _KEY_FAMILIES:
        if any(fragment in key for key in keys):
            return family
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
        base = FAMILY_DEFAULTS[family]
        width, height = _folder_native_size(path, base)
        defaults = FamilyDefaults(base.sd_version, width, height, base.default_steps, base.default_guidance)
        return Detected(family, defaults, single_file=False)
    if path.is_file():
        if path.suffix.lower() not in SINGLE_FILE_SUFFIXES:
            raise DetectionError(f"{path}: only .safetensors single-file checkpoints are supported (not pickles)")
        family = family_of_file(path)
        return Detected(family, FAMILY_DEFAULTS[family], single_file=True)
    raise DetectionError(f"{path} does not exist")
