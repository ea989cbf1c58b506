"""Loading a catalog ControlNet: a diffusers model folder, read offline, in float32 on the CPU (the
render moves it to its model's device and dtype, `features/controlnet.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sfumato.catalog import ControlNetEntry

WEIGHTS_STEM = "diffusion_pytorch_model"
# FLUX ControlNets have their own class (double and single transformer blocks); UNet families share one.
_FLUX_FAMILIES = frozenset({"flux"})


def controlnet_folder(entry: ControlNetEntry, models_dir: Path) -> tuple[Path, str | None]:
    """The row's folder and weights variant: the built-in's folder, else the folder of its weights
    file, whose name says the variant (`diffusion_pytorch_model.fp16.safetensors` -> fp16)."""
    location = entry.weights.location(models_dir)
    if entry.weights.builtin:
        return location, None
    parts = location.name.split(".")
    if parts[0] != WEIGHTS_STEM or parts[-1] != "safetensors" or len(parts) > 3:
        raise ValueError(
            f"ControlNet {entry.id}: its weights file must be {WEIGHTS_STEM}[.<variant>].safetensors "
            f"beside its config.json (got {location.name})"
        )
    return location.parent, parts[1] if len(parts) == 3 else None


def load_controlnet(entry: ControlNetEntry, models_dir: Path) -> Any:
    folder, variant = controlnet_folder(entry, models_dir)
    if entry.family in _FLUX_FAMILIES:
        from diffusers.models.controlnets.controlnet_flux import FluxControlNetModel as model_class
    else:
        from diffusers.models.controlnets.controlnet import ControlNetModel as model_class
    return model_class.from_pretrained(folder, variant=variant, local_files_only=True).eval()
