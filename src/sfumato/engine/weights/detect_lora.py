"""What a LoRA file is, from its tensor names alone (the safetensors header; nothing is loaded).

diffusers/peft files name their matrices `<module>.lora_A.weight` / `.lora_B.weight` (or the
older `.lora.down.weight` / `.lora.up.weight`, `_lora.down.weight`); kohya's trainers write
`lora_unet_<module>.lora_down.weight` / `.lora_up.weight` and an `.alpha`. diffusers' loader reads
both (`load_lora_weights` converts kohya's names). Anything else is not a LoRA Sfumato can apply.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

from sfumato.engine.weights.detect import DetectionError

_DIFFUSERS_SUFFIXES = (".lora_A.weight", ".lora_B.weight", ".lora.down.weight", ".lora.up.weight")
_KOHYA_SUFFIXES = (".lora_down.weight", ".lora_up.weight")
_KOHYA_PREFIXES = ("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_", "lora_transformer_")
_TEXT_ENCODER_MARKS = ("text_encoder", "lora_te")
# A safetensors header is a JSON object; a bigger one than this is not a LoRA's.
_MAX_HEADER = 64 * 2**20


@dataclass(frozen=True)
class LoraFile:
    format: str  # "diffusers" or "kohya"
    tensors: int
    text_encoder: bool  # it also adapts a text encoder


def detect_lora(path: Path) -> LoraFile:
    """The file's LoRA format, or DetectionError saying why it is not one."""
    if path.suffix != ".safetensors" or not path.is_file():
        raise DetectionError(f"{path} is not a .safetensors file (elements are LoRA files in safetensors format)")
    names = _tensor_names(path)
    if any(name.startswith(_KOHYA_PREFIXES) and name.endswith(_KOHYA_SUFFIXES) for name in names):
        kind = "kohya"
    elif any(name.endswith(_DIFFUSERS_SUFFIXES) or "_lora.down." in name for name in names):
        kind = "diffusers"
    else:
        sample = ", ".join(sorted(names)[:3]) or "none"
        raise DetectionError(
            f"{path} holds no LoRA matrices in diffusers (`...lora_A.weight`) or kohya "
            f"(`lora_unet_...lora_down.weight`) naming (first tensors: {sample})"
        )
    return LoraFile(kind, len(names), any(mark in name for name in names for mark in _TEXT_ENCODER_MARKS))


def _tensor_names(path: Path) -> list[str]:
    with path.open("rb") as file:
        head = file.read(8)
        if len(head) != 8:
            raise DetectionError(f"{path} is too short to be a safetensors file")
        (size,) = struct.unpack("<Q", head)
        if size > _MAX_HEADER:
            raise DetectionError(f"{path} is not a safetensors file (header of {size} bytes)")
        try:
            header = json.loads(file.read(size))
        except ValueError:
            raise DetectionError(f"{path} is not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise DetectionError(f"{path} is not a safetensors file")
    return [name for name in header if name != "__metadata__"]
