"""The memory plan `auto` picks: the decision table, the headroom it reserves, and the weights it measures."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch

from sfumato.engine.runtime import memory
from sfumato.engine.runtime.memory import (
    GIB,
    activation_headroom,
    choose_memory_plan,
    measure_weights,
    resident_bytes,
    resolve_memory_plan,
)
from sfumato.engine.weights.tiny import build_tiny_pipeline

# Real models' weights in their usual dtypes (parameter counts x 2 bytes), in GiB: total, largest.
SDXL = (6.5, 4.8)  # fp16: UNet 2.6 B params, two CLIP encoders, VAE
FLUX = (31.5, 22.2)  # bf16: transformer 11.9 B params, T5-XXL 4.8 B, CLIP-L, VAE


def gib(value: float) -> int:
    return int(value * GIB)


def test_headroom_is_a_fixed_part_plus_a_share_of_the_largest_component() -> None:
    assert activation_headroom(0) == 2 * GIB
    assert activation_headroom(gib(10)) == 2 * GIB + int(0.15 * gib(10))


@pytest.mark.parametrize(
    ("model", "free_gib", "plan"),
    [
        (SDXL, 80, "none"),  # H100
        (SDXL, 12, "none"),  # 6.5 + 2.7 headroom = 9.2 fits
        (SDXL, 8, "model_offload"),  # 9.2 does not, the UNet's 4.8 + 2.7 = 7.5 does
        (SDXL, 6, "sequential_offload"),
        (SDXL, 1, "sequential_offload"),  # the last resort even when nothing fits
        (FLUX, 80, "none"),
        (FLUX, 40, "none"),  # 31.5 + 5.3 = 36.8 fits
        (FLUX, 24, "sequential_offload"),  # the transformer's 22.2 + 5.3 = 27.5 does not fit a 24 GB card
        (FLUX, 30, "model_offload"),
    ],
)
def test_decision_table(model: tuple[float, float], free_gib: float, plan: str) -> None:
    total, largest = model
    choice = choose_memory_plan(gib(free_gib), gib(total), gib(largest))
    assert choice.plan == plan
    assert "GiB" in choice.reason  # the log line says what it compared


def test_the_boundaries_are_inclusive() -> None:
    total, largest = gib(10), gib(4)
    need_all = total + activation_headroom(largest)
    need_largest = largest + activation_headroom(largest)
    assert choose_memory_plan(need_all, total, largest).plan == "none"
    assert choose_memory_plan(need_all - 1, total, largest).plan == "model_offload"
    assert choose_memory_plan(need_largest, total, largest).plan == "model_offload"
    assert choose_memory_plan(need_largest - 1, total, largest).plan == "sequential_offload"


def test_measure_weights_counts_every_module_and_names_the_largest() -> None:
    pipe = build_tiny_pipeline()
    sizes = measure_weights(pipe)
    per_module = {
        name: sum(t.nbytes for t in [*m.parameters(), *m.buffers()])
        for name, m in pipe.components.items()
        if isinstance(m, torch.nn.Module)
    }
    assert sizes.total_bytes == sum(per_module.values()) > 0
    assert sizes.largest_name == max(per_module, key=lambda name: per_module[name])
    assert sizes.largest_bytes == per_module[sizes.largest_name]


def test_measure_weights_counts_a_shared_module_once_and_skips_meta_tensors() -> None:
    shared = torch.nn.Linear(4, 4)  # 20 float32 numbers: 80 bytes
    with torch.device("meta"):
        unmaterialized = torch.nn.Linear(1000, 1000)
    pipe: Any = SimpleNamespace(components={"a": shared, "b": shared, "c": unmaterialized, "tokenizer": object()})
    assert measure_weights(pipe) == memory.WeightSizes(80, 80, "a")
    nothing: Any = SimpleNamespace(components={})
    assert measure_weights(nothing) == memory.WeightSizes(0, 0)


def test_resident_bytes_counts_only_weights_on_that_device() -> None:
    pipe = build_tiny_pipeline()
    assert resident_bytes(pipe, "cpu") == measure_weights(pipe).total_bytes
    assert resident_bytes(pipe, "cuda") == 0
    assert resident_bytes(pipe, "cuda:1") == 0


def test_an_explicit_plan_is_used_as_given() -> None:
    pipe = build_tiny_pipeline()
    assert resolve_memory_plan("model_offload", "cuda", pipe).plan == "model_offload"
    assert resolve_memory_plan("none", "cuda", pipe).plan == "none"
    with pytest.raises(ValueError, match="unknown memory plan 'swap'"):
        resolve_memory_plan("swap", "cuda", pipe)


@pytest.mark.parametrize("device", ["cpu", "mps"])
def test_auto_keeps_weights_in_place_on_cpu_and_mps(device: str) -> None:
    assert resolve_memory_plan("auto", device, build_tiny_pipeline()).plan == "none"


@pytest.mark.parametrize(("free", "plan"), [(4 * GIB, "none"), (GIB, "sequential_offload")])
def test_auto_on_cuda_asks_the_driver_for_free_memory(monkeypatch: pytest.MonkeyPatch, free: int, plan: str) -> None:
    """No GPU here: the driver's answer is stubbed; the tiny model's few MB plus 2 GiB of headroom decide."""
    asked: list[torch.device] = []

    def mem_get_info(device: torch.device) -> tuple[int, int]:
        asked.append(device)
        return free, 80 * GIB

    monkeypatch.setattr(torch.cuda, "mem_get_info", mem_get_info)
    assert resolve_memory_plan("auto", "cuda:1", build_tiny_pipeline()).plan == plan
    assert asked == [torch.device("cuda:1")]


def test_memory_cached_by_torch_but_unused_counts_as_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (GIB, 80 * GIB))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device: 5 * GIB)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device: 2 * GIB)
    assert memory.available_bytes("cuda") == 4 * GIB
    assert resolve_memory_plan("auto", "cuda", build_tiny_pipeline()).plan == "none"
