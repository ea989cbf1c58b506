"""The built-in tiny IP-Adapter for Sfumato Tiny, and the recipe that makes one for any UNet or FLUX
transformer: fixed random weights in the real key layout, next to a tiny CLIP vision encoder.

The files are exactly what `load_ip_adapter` reads from h94's (UNet) and XLabs' (FLUX) releases,
so the built-in adapter runs the same loading, projection and attention code a real one does. Its
`to_k_ip`/`to_v_ip` weights are drawn large enough that a reference visibly moves the picture
(diffusers' own init would be as random but the effect smaller); the picture carries nothing of the
reference, since nothing was trained.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from sfumato.catalog.ip_adapters import BUILTIN_ENCODER_FOLDER, BUILTIN_WEIGHTS_NAME

_SEED = 20240603
_TOKENS = 4  # the basic IP-Adapter's image tokens (diffusers' ImageProjection for this layout)
_STD = 0.3
_SEED_LOCK = threading.Lock()


def tiny_image_encoder() -> CLIPVisionModelWithProjection:
    """A 2-layer CLIP vision tower on 32-px pictures (diffusers makes the matching processor)."""
    config = CLIPVisionConfig(
        hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2, image_size=32,
        patch_size=8, projection_dim=16,
    )  # fmt: skip
    return CLIPVisionModelWithProjection(config).eval()


def _random(*shape: int) -> torch.Tensor:
    return torch.randn(*shape) * _STD


def unet_adapter_tensors(unet: Any, projection_dim: int) -> dict[str, torch.Tensor]:
    """h94's layout for `unet`: the image projection, then `to_k_ip`/`to_v_ip` for each cross-attention
    processor in `attn_processors` order, numbered 1, 3, 5... as diffusers reads them."""
    config = unet.config
    width = config.cross_attention_dim
    channels = list(config.block_out_channels)
    tensors = {
        "image_proj.proj.weight": _random(_TOKENS * width, projection_dim),
        "image_proj.proj.bias": torch.zeros(_TOKENS * width),
        "image_proj.norm.weight": torch.ones(width),
        "image_proj.norm.bias": torch.zeros(width),
    }
    key = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        if name.startswith("mid_block"):
            hidden = channels[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(channels))[int(name[len("up_blocks.")])]
        else:
            hidden = channels[int(name[len("down_blocks.")])]
        tensors[f"ip_adapter.{key}.to_k_ip.weight"] = _random(hidden, width)
        tensors[f"ip_adapter.{key}.to_v_ip.weight"] = _random(hidden, width)
        key += 2
    return tensors


def flux_adapter_tensors(transformer: Any, projection_dim: int) -> dict[str, torch.Tensor]:
    """XLabs' layout for a FLUX `transformer`: the projection and each double-stream block's k/v."""
    config = transformer.config
    width = config.joint_attention_dim
    inner = config.num_attention_heads * config.attention_head_dim
    tensors = {
        "ip_adapter_proj_model.proj.weight": _random(_TOKENS * width, projection_dim),
        "ip_adapter_proj_model.proj.bias": torch.zeros(_TOKENS * width),
        "ip_adapter_proj_model.norm.weight": torch.ones(width),
        "ip_adapter_proj_model.norm.bias": torch.zeros(width),
    }
    for block in range(config.num_layers):
        for part in ("k", "v"):
            stem = f"double_blocks.{block}.processor.ip_adapter_double_stream_{part}_proj"
            tensors[f"{stem}.weight"] = _random(inner, width)
            tensors[f"{stem}.bias"] = torch.zeros(inner)
    return tensors


class AdapterFolder:
    """What `tiny.ensure_built` saves: the adapter file and the encoder folder, in the built-in layout."""

    def __init__(self, tensors: dict[str, torch.Tensor], encoder: CLIPVisionModelWithProjection) -> None:
        self.tensors = tensors
        self.encoder = encoder

    def save_pretrained(self, folder: Path, safe_serialization: bool = True) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.tensors.items()}, str(folder / BUILTIN_WEIGHTS_NAME))
        self.encoder.save_pretrained(folder / BUILTIN_ENCODER_FOLDER, safe_serialization=True)


def adapter_folder(denoiser: Any, seed: int = _SEED) -> AdapterFolder:
    """A random adapter for `denoiser` (a UNet or a FLUX transformer) and its tiny encoder, seeded."""
    with _SEED_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = tiny_image_encoder()
        projection = encoder.config.projection_dim
        if hasattr(denoiser.config, "cross_attention_dim"):
            return AdapterFolder(unet_adapter_tensors(denoiser, projection), encoder)
        return AdapterFolder(flux_adapter_tensors(denoiser, projection), encoder)


def build_tiny_ip_adapter() -> AdapterFolder:
    """The built-in adapter for Sfumato Tiny's UNet."""
    from sfumato.engine.weights.tiny import build_tiny_pipeline

    return adapter_folder(build_tiny_pipeline().unet)
