"""Which memory plan a pipeline gets on its device: all weights resident, or offloaded to host RAM.

A model whose weights do not fit the accelerator still runs if its components take turns on it
(model offload: one whole component at a time, a few percent slower) or if every layer's weights
are streamed in as it runs (sequential offload: needs almost no accelerator memory, several times
slower). `auto` picks the fastest plan that fits the free memory.

Sizes are measured on the loaded pipeline (it is on the CPU when the plan is chosen), not
estimated from its safetensors files: the measure is exact for the dtype actually loaded, for
single-file checkpoints, replacement UNets and fp16 variant files alike, and loading into host RAM
costs nothing extra because every plan needs the weights there first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from sfumato.engine.runtime.cache import pipeline_weights

if TYPE_CHECKING:
    from diffusers.pipelines.pipeline_utils import DiffusionPipeline

GIB = 1024**3
# What a render needs on top of its weights: activations, the VAE decode of a few 1024x1024
# images, cuBLAS workspaces and allocator fragmentation. A fixed part plus a share of the largest
# component (activations grow with the denoiser's width): 2.7 GiB for SDXL's 4.8 GiB fp16 UNet,
# 5.3 GiB for FLUX's 22 GiB bf16 transformer. These are estimates, deliberately generous (a plan
# that does not fit fails a render; one too cautious only costs speed); benchmarks/engine_gpu.py
# prints the measured peak above the weights so they can be checked. Operators who know better
# set memory_plan.
HEADROOM_FIXED_BYTES = 2 * GIB
HEADROOM_SHARE_OF_LARGEST = 0.15

PLANS = ("none", "model_offload", "sequential_offload")
OFFLOAD_PLANS = ("model_offload", "sequential_offload")


@dataclass(frozen=True)
class WeightSizes:
    """Parameter and buffer bytes of a pipeline: all of them, and its largest component's."""

    total_bytes: int
    largest_bytes: int
    largest_name: str = ""


@dataclass(frozen=True)
class PlanChoice:
    """A memory plan and why it was chosen, for the operator's log."""

    plan: str
    reason: str


def activation_headroom(largest_bytes: int) -> int:
    """Bytes a render needs beyond the resident weights (see HEADROOM_* above)."""
    return HEADROOM_FIXED_BYTES + int(HEADROOM_SHARE_OF_LARGEST * largest_bytes)


def choose_memory_plan(free_device_bytes: int, total_bytes: int, largest_bytes: int) -> PlanChoice:
    """The fastest plan whose peak fits `free_device_bytes`.

    none: every weight plus headroom; model_offload: the largest component (the others wait in
    host RAM) plus headroom; sequential_offload otherwise, the last resort, chosen even when the
    headroom alone does not fit (the render may then run out of memory, and says so then).
    """
    headroom = activation_headroom(largest_bytes)
    need_all, need_largest = total_bytes + headroom, largest_bytes + headroom
    free = f"{_gib(free_device_bytes)} free"
    if need_all <= free_device_bytes:
        return PlanChoice("none", f"all weights ({_gib(total_bytes)}) + headroom fit: {free}")
    if need_largest <= free_device_bytes:
        return PlanChoice(
            "model_offload",
            f"all weights + headroom need {_gib(need_all)}, the largest component + headroom "
            f"{_gib(need_largest)}: {free}",
        )
    return PlanChoice("sequential_offload", f"even the largest component + headroom need {_gib(need_largest)}: {free}")


def measure_weights(pipe: DiffusionPipeline) -> WeightSizes:
    """Bytes of every torch module in `pipe.components`, tied tensors once, wherever they live."""
    sizes: dict[str, int] = {}
    for name, tensor in pipeline_weights(pipe):
        sizes[name] = sizes.get(name, 0) + (0 if tensor.device.type == "meta" else tensor.nbytes)
    if not sizes:
        return WeightSizes(0, 0)
    largest = max(sizes, key=lambda name: sizes[name])
    return WeightSizes(sum(sizes.values()), sizes[largest], largest)


def resident_bytes(pipe: DiffusionPipeline, device: str) -> int:
    """Bytes of `pipe`'s weights already on `device`: memory it would reuse, not need afresh."""
    target = torch.device(device)
    return sum(tensor.nbytes for _name, tensor in pipeline_weights(pipe) if _same_device(tensor.device, target))


def resolve_memory_plan(setting: str, device: str, pipe: DiffusionPipeline, extra_bytes: int = 0) -> PlanChoice:
    """The plan for `pipe` on `device`: an explicit setting as given; `auto` from free CUDA memory.

    `extra_bytes` are weights a speed-up would add (fused QKV copies), counted as part of the
    largest component too. `auto` means none on the CPU and on Apple MPS, whose memory is the
    host's own: offloading would only copy weights within it.
    """
    if setting != "auto":
        if setting not in PLANS:
            raise ValueError(f"unknown memory plan {setting!r}: expected auto, {', '.join(PLANS)}")
        return PlanChoice(setting, "set by memory_plan")
    if torch.device(device).type != "cuda":
        return PlanChoice("none", f"auto on {device}: weights stay where they are")
    sizes = measure_weights(pipe)
    return choose_memory_plan(
        available_bytes(device) + resident_bytes(pipe, device),
        sizes.total_bytes + extra_bytes,
        sizes.largest_bytes + extra_bytes,
    )


def available_bytes(device: str) -> int:
    """CUDA memory this process can still have: the driver's free memory plus what torch's caching
    allocator holds without using (freed activations of earlier renders, kept for reuse)."""
    target = torch.device(device)
    free, _total = torch.cuda.mem_get_info(target)
    return free + torch.cuda.memory_reserved(target) - torch.cuda.memory_allocated(target)


def _same_device(actual: torch.device, target: torch.device) -> bool:
    """`cuda` names the current CUDA device, `cuda:0` the first: compare types, and indexes when both have one."""
    if actual.type != target.type:
        return False
    return actual.index is None or target.index is None or actual.index == target.index


def _gib(size: int) -> str:
    return f"{size / GIB:.1f} GiB"
