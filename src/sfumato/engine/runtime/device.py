"""Which torch device and weights dtype this machine offers, unless the operator says otherwise."""

from __future__ import annotations

import torch

from sfumato.engine.errors import EngineConfigError

_DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def pick_device(setting: str) -> str:
    """`auto` prefers CUDA, then Apple MPS, then the CPU; anything else is used as given, once this
    machine is known to have it (EngineConfigError otherwise: at start, not at the first render)."""
    if setting != "auto":
        _check_device(setting)
        return setting
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _check_device(setting: str) -> None:
    try:
        device = torch.device(setting)
    except RuntimeError:
        raise EngineConfigError(f"SFUMATO_DEVICE={setting!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (device.index or 0) >= count:
            raise EngineConfigError(f"SFUMATO_DEVICE={setting!r}: this machine has {count} CUDA device(s)")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise EngineConfigError(f"SFUMATO_DEVICE={setting!r}: MPS is not available on this machine")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise EngineConfigError(f"SFUMATO_DEVICE={setting!r}: use auto, cpu, cuda, cuda:N or mps")


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
