"""The built-in tiny LoRA element for Sfumato Tiny: rank-4 adapters on its UNet's attention, fixed random weights.

Built offline on first use into the models dir (diffusers' LoRA file, the marker last), like the
other built-in models. peft initialises `lora_B` to zero, which would leave the picture as it was,
so every LoRA matrix is drawn at random instead (knobs-facts §4): weight 1 changes the picture,
weight 0 gives exactly the base model's.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import torch

from sfumato.engine.weights.tiny import build_tiny_pipeline, ensure_built

LORA_WEIGHTS_NAME = "pytorch_lora_weights.safetensors"
_SEED = 20260601
_RANK = 4
_STD = 0.3
_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]
_SEED_LOCK = threading.Lock()


class _TinyLora:
    """What `ensure_built` saves: the UNet LoRA layers, written as diffusers writes a LoRA."""

    def __init__(self, unet_layers: dict[str, torch.Tensor]) -> None:
        self.unet_layers = unet_layers

    def save_pretrained(self, folder: Path, safe_serialization: bool = True) -> None:
        from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline

        folder.mkdir(parents=True, exist_ok=True)
        layers: dict[str, Any] = dict(self.unet_layers)
        StableDiffusionPipeline.save_lora_weights(folder, unet_lora_layers=layers, weight_name=LORA_WEIGHTS_NAME)


def build_tiny_lora(seed: int = _SEED) -> _TinyLora:
    """Random rank-4 adapters for Sfumato Tiny's UNet, drawn after `seed` (the caller's RNG left as it was)."""
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    unet: Any = build_tiny_pipeline().unet
    with _SEED_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet.add_adapter(LoraConfig(r=_RANK, lora_alpha=_RANK, target_modules=_TARGETS, init_lora_weights=False))
        with torch.no_grad():
            for name, parameter in unet.named_parameters():
                if "lora_" in name:
                    torch.nn.init.normal_(parameter, std=_STD)
    return _TinyLora(get_peft_model_state_dict(unet))


_BUILDERS = {"tiny-lora": build_tiny_lora}


def ensure_tiny_lora(builtin: str, target: Path) -> Path:
    """Make sure folder `target` holds the built-in LoRA `builtin`; return its weights file."""
    if builtin not in _BUILDERS:
        raise ValueError(f"unknown built-in element {builtin!r}: expected one of {', '.join(_BUILDERS)}")
    ensure_built(target, _BUILDERS[builtin], f"Sfumato {builtin}")
    return target / LORA_WEIGHTS_NAME
