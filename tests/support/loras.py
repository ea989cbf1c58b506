"""LoRA files for tests: the built-in tiny LoRA's recipe at other seeds, in diffusers' or kohya's format."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from sfumato.engine.weights.tiny_lora import LORA_WEIGHTS_NAME, build_tiny_lora


def diffusers_lora(folder: Path, seed: int) -> Path:
    """A diffusers-format LoRA for Sfumato Tiny (random, so it changes the picture); its file."""
    build_tiny_lora(seed).save_pretrained(folder)
    return folder / LORA_WEIGHTS_NAME


def kohya_lora(file: Path, seed: int) -> Path:
    """The same recipe written with kohya's tensor names (`lora_unet_..._to_k.lora_down.weight`, `.alpha`)."""
    source = diffusers_lora(file.parent / f".{file.stem}-diffusers", seed)
    kohya: dict[str, torch.Tensor] = {}
    for key, tensor in load_file(str(source)).items():
        module, part = key.removeprefix("unet.").rsplit(".lora_", 1)
        stem = "lora_unet_" + module.replace(".", "_")
        kohya[f"{stem}.lora_{'down' if part.startswith('A') else 'up'}.weight"] = tensor
        if part.startswith("A"):
            kohya[f"{stem}.alpha"] = torch.tensor(float(tensor.shape[0]))
    file.parent.mkdir(parents=True, exist_ok=True)
    save_file(kohya, str(file))
    return file


def family_lora(family: str, folder: Path, seed: int) -> Path:
    """A random LoRA for the tiny model of `family` (`tests/support/tiny_families.py`), in diffusers' format."""
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    from tests.support.tiny_families import build_tiny_family_pipeline

    pipe = build_tiny_family_pipeline(family)
    name = "transformer" if hasattr(pipe, "transformer") and pipe.transformer is not None else "unet"
    denoiser = getattr(pipe, name)
    torch.manual_seed(seed)
    targets = ["to_q", "to_k", "to_v", "to_out.0"]
    denoiser.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=targets, init_lora_weights=False))
    with torch.no_grad():
        for parameter_name, parameter in denoiser.named_parameters():
            if "lora_" in parameter_name:
                torch.nn.init.normal_(parameter, std=0.3)
    layers = {f"{name}_lora_layers": get_peft_model_state_dict(denoiser)}
    type(pipe).save_lora_weights(folder, weight_name=LORA_WEIGHTS_NAME, **layers)
    return folder / LORA_WEIGHTS_NAME
