"""Which torch device and weights dtype this machine offers, unless the operator says otherwise."""

from __future__ import annotations

import torch

_DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def pick_device(setting: str) -> str:
    """`auto` prefers CUDA, then Apple MPS, then the CPU; anything else is used as given."""
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(setting: str, device: str) -> torch.dtype | None:
    """The dtype weights are loaded in; None keeps the checkpoint's own.

    `auto`: bfloat16 on CUDA GPUs that run it natively (Ampere and later; float16's range
    overflows in FLUX's activations), else float16; both halve memory and run on tensor cores;
    float16 on Apple MPS; and the checkpoint's own on the CPU, where half precision is slow and
    float32 keeps pictures bit-identical to earlier releases. An explicit name is honoured anywhere.
    """
    if setting != "auto":
        if setting not in _DTYPES:
            raise ValueError(f"unknown dtype {setting!r}: expected auto, {', '.join(_DTYPES)}")
        return _DTYPES[setting]
    kind = torch.device(device).type
    if kind == "cuda":
        # Emulated bfloat16 (pre-Ampere) is slower than float16, so it does not count.
        native_bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
        return torch.bfloat16 if native_bf16 else torch.float16
    if kind == "mps":
        return torch.float16
    return None
