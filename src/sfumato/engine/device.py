"""Which torch device this machine offers, unless the operator says otherwise."""

from __future__ import annotations

import torch


def pick_device(setting: str) -> str:
    """`auto` prefers CUDA, then Apple MPS, then the CPU; anything else is used as given."""
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"
