"""The built-in tiny auxiliary models: an upscaler and a background segmenter with fixed random weights.

Like Sfumato Tiny, they let a fresh install and the tests run the upscale and background-removal
flows offline, with nothing downloaded: they are built on first use into the models dir (a
`model.safetensors`, a `config.json`, the marker last) and loaded back like a real model's file.
Their weights are random, so they only keep the flows' properties, not quality:

- the tiny upscaler is bicubic interpolation plus a small random residual (a network with random
  weights alone would scramble the picture): the output is `scale` times larger on both sides
  and is still the same picture;
- the tiny segmenter is a few random convolutions whose sigmoid is the mask: it varies with the
  picture's content, so the alpha it gives is not constant, but it does not find the subject.
"""

from __future__ import annotations

import importlib
import json
import threading
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional

from sfumato.engine.weights.tiny import ensure_built

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
_SEED = 20240602
# Seeding uses torch's global generator, so builds in one process must not interleave.
_SEED_LOCK = threading.Lock()


class _SavedModule(nn.Module):
    """A module whose constructor arguments are its config, saved beside its weights."""

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self.config = config

    def save_pretrained(self, folder: Path, safe_serialization: bool = True) -> None:
        """What `ensure_built` calls on a build (the weights are always written as safetensors)."""
        folder.mkdir(parents=True, exist_ok=True)
        save_file(self.state_dict(), str(folder / WEIGHTS_NAME))
        (folder / CONFIG_NAME).write_text(json.dumps(self.config), encoding="utf-8")


class TinyUpscaler(_SavedModule):
    """Bicubic x`scale` plus `gain` times a random residual at the output's resolution (see the module doc)."""

    def __init__(self, scale: int = 4, features: int = 8, gain: float = 0.05) -> None:
        super().__init__(scale=scale, features=features, gain=gain)
        self.scale = scale
        self.gain = gain
        self.body = nn.Sequential(
            nn.Conv2d(3, features, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(features, 3 * scale * scale, 3, padding=1),
            nn.PixelShuffle(scale),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = functional.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return (base + self.gain * torch.tanh(self.body(x))).clamp(0.0, 1.0)


class TinySegmenter(_SavedModule):
    """A few random convolutions answering one logit per pixel (see the module doc)."""

    def __init__(self, features: int = 8) -> None:
        super().__init__(features=features)
        self.body = nn.Sequential(
            nn.Conv2d(3, features, 3, padding=1),
            nn.Tanh(),
            nn.Conv2d(features, features, 3, padding=2, dilation=2),
            nn.Tanh(),
            nn.Conv2d(features, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


_BUILDERS: dict[str, type[_SavedModule]] = {"tiny-upscaler": TinyUpscaler, "tiny-segmenter": TinySegmenter}


def _seeded(kind: type[_SavedModule]) -> _SavedModule:
    """Build `kind` right after a fixed seed, leaving the caller's RNG state as it was."""
    with _SEED_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(_SEED)
        return kind()


# Built-ins that are diffusers or transformers models of their own (saved with their library's
# `save_pretrained`), each built by a function in its own module, imported on first use.
_MODEL_BUILDERS: dict[str, tuple[str, str]] = {
    "tiny-controlnet-sd15": ("sfumato.engine.weights.tiny_guidance", "build_tiny_controlnet"),
    "tiny-depth": ("sfumato.engine.weights.tiny_guidance", "build_tiny_depth_estimator"),
    "tiny-pose": ("sfumato.engine.weights.tiny_guidance", "build_tiny_pose_estimator"),
    "tiny-ip-adapter": ("sfumato.engine.weights.tiny_ip_adapter", "build_tiny_ip_adapter"),
    "tiny-nsfw": ("sfumato.engine.weights.tiny_safety", "build_tiny_safety_checker"),
}


def ensure_tiny_aux(builtin: str, target: Path) -> Path:
    """Make sure `target` holds the built-in auxiliary model `builtin` and return the folder."""
    if builtin in _MODEL_BUILDERS:
        module, function = _MODEL_BUILDERS[builtin]
        return ensure_built(target, getattr(importlib.import_module(module), function), f"Sfumato {builtin}")
    if builtin not in _BUILDERS:
        raise ValueError(f"unknown built-in auxiliary model {builtin!r}: expected one of {', '.join(_BUILDERS)}")
    kind = _BUILDERS[builtin]
    return ensure_built(target, lambda: _seeded(kind), f"Sfumato {builtin}")


def load_tiny_aux(builtin: str, folder: Path) -> nn.Module:
    """The built-in model saved in `folder`, in eval mode, on the CPU."""
    config = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
    module = _BUILDERS[builtin](**config)
    module.load_state_dict(load_file(str(folder / WEIGHTS_NAME)))
    return module.eval()
