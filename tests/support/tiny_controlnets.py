"""Tiny ControlNets for the tiny SDXL and FLUX models (tests/support/tiny_families), saved as diffusers
folders and registered as `[[controlnet]]` rows by `path`, as an operator's would be.

Each is made from its model's own denoiser (`from_unet` / `from_transformer`), its zero-started
layers woken with small random weights (`tiny_guidance.wake_controlnet`), so it changes the picture.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers.models.controlnets.controlnet import ControlNetModel
from diffusers.models.controlnets.controlnet_flux import FluxControlNetModel
from diffusers.pipelines.pipeline_utils import DiffusionPipeline

from sfumato.catalog import ControlNetEntry
from sfumato.engine.weights.tiny_guidance import wake_controlnet

_SEED = 20240704


def tiny_controlnet_row(model_folder: Path, family: str, target: Path, kind: str = "any") -> ControlNetEntry:
    """Build (once) the tiny ControlNet of the model in `model_folder` into `target`; its catalog row."""
    weights = target / "diffusion_pytorch_model.safetensors"
    if not weights.is_file():
        pipe = DiffusionPipeline.from_pretrained(model_folder)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_SEED)
            if family == "flux":
                config = pipe.transformer.config
                net = FluxControlNetModel.from_transformer(
                    pipe.transformer,
                    num_layers=1,
                    num_single_layers=1,
                    attention_head_dim=config.attention_head_dim,
                    num_attention_heads=config.num_attention_heads,
                )
            else:
                net = ControlNetModel.from_unet(pipe.unet)
            wake_controlnet(net)
        net.save_pretrained(target)
    row = {"id": f"tiny-controlnet-{family}", "name": f"Tiny {family} ControlNet", "path": str(weights)}
    return ControlNetEntry.from_row({**row, "family": family, "kind": kind})
