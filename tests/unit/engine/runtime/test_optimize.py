"""What prepare_pipeline does to a pipeline and reports as values, and what EngineOptions resolves and refuses.

There is no GPU here: the CUDA-only speed-ups (fused QKV, channels-last) are exercised as
functions on the CPU, and the CUDA answers torch gives (bf16 support, capability) are stubbed.
torch.compile itself takes about a minute on the tiny UNet on two CPU cores, so the compile
tests replace `torch.compile` with a recording pass-through: they prove the wiring (what is
compiled, and that the warm-up runs after it, through the compiled module), not inductor.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from diffusers.models.attention_processor import FusedAttnProcessor2_0

from sfumato.config import EngineSettings, Settings
from sfumato.engine.renderer import Renderer
from sfumato.engine.request import RenderRequest
from sfumato.engine.runtime.cache import PipelineCache
from sfumato.engine.runtime.device import pick_device, pick_dtype
from sfumato.engine.runtime.memory import GIB, PlanChoice, activation_headroom, measure_weights
from sfumato.engine.runtime.optimize import (
    SDPA,
    Compiled,
    EngineConfigError,
    EngineOptions,
    Preparation,
    QkvFusion,
    VaeDecoding,
    attention_backends,
    check_options,
    compile_denoiser,
    fuse_qkv_projections,
    plan_with_fusion,
    prepare_pipeline,
    qkv_fusion_bytes,
    use_channels_last,
    vae_tiling_wanted,
)
from sfumato.engine.weights.loaders import ModelSource
from sfumato.engine.weights.tiny import build_tiny_pipeline, ensure_tiny_model
from tests.support.tiny_families import build_tiny_family_pipeline

CALL = {"prompt": "a lighthouse at dusk", "width": 32, "height": 32, "num_inference_steps": 2, "output_type": "np"}


def render(pipe: Any, seed: int = 7) -> np.ndarray:
    with torch.inference_mode():
        return np.asarray(pipe(**CALL, generator=torch.Generator("cpu").manual_seed(seed)).images)


def settings(tmp_path: Path, **values: Any) -> EngineSettings:
    return Settings(data_dir=tmp_path, **values).engine


# --- device and dtype ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "device", "bf16", "expected"),
    [
        ("auto", "cuda", True, torch.bfloat16),  # Ampere and later
        ("auto", "cuda:1", True, torch.bfloat16),
        ("auto", "cuda", False, torch.float16),  # Turing, Volta: no native bfloat16
        ("auto", "mps", False, torch.float16),
        ("auto", "cpu", False, None),  # the checkpoint's own: float32 pictures as before
        ("float32", "cuda", True, torch.float32),  # explicit values win everywhere
        ("float16", "cuda", True, torch.float16),
        ("bfloat16", "cpu", False, torch.bfloat16),
        ("float32", "cpu", False, torch.float32),
    ],
)
def test_dtype_table(
    monkeypatch: pytest.MonkeyPatch, setting: str, device: str, bf16: bool, expected: torch.dtype | None
) -> None:
    asked: list[bool] = []

    def is_bf16_supported(including_emulation: bool = True) -> bool:
        asked.append(including_emulation)
        return bf16

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    assert pick_dtype(setting, device) == expected
    assert asked == ([False] if setting == "auto" and device.startswith("cuda") else [])  # emulation never counts


def test_from_settings_resolves_device_and_dtype_for_this_machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    options = EngineOptions.from_settings(settings(tmp_path))
    assert (options.device, options.dtype, options.memory_plan) == ("cuda", torch.bfloat16, "auto")
    assert pick_device("auto") == "cuda"
    cpu = EngineOptions.from_settings(settings(tmp_path, device="cpu", dtype="bfloat16", torch_compile=True))
    assert (cpu.device, cpu.dtype, cpu.torch_compile) == ("cpu", torch.bfloat16, True)


# --- refusals -------------------------------------------------------------------------------------


def test_fp8_on_the_cpu_is_refused_at_startup(tmp_path: Path) -> None:
    message = r"fast_mode fp8 needs a CUDA GPU with compute capability >= 8\.9 .* is cpu: set SFUMATO_FAST_MODE=off"
    with pytest.raises(EngineConfigError, match=message):
        EngineOptions.from_settings(settings(tmp_path, device="cpu", fast_mode="fp8"))
    with pytest.raises(EngineConfigError, match=message):  # and by prepare_pipeline, for options built by hand
        prepare_pipeline(build_tiny_pipeline(), EngineOptions(fast_mode="fp8"))


def test_fp8_on_an_older_gpu_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA A100-SXM4-80GB")
    with pytest.raises(EngineConfigError, match=r"NVIDIA A100-SXM4-80GB has 8\.0"):
        check_options(EngineOptions(device="cuda", fast_mode="fp8"))


def test_fp8_without_torchao_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "torchao" else real_find_spec(name))
    with pytest.raises(EngineConfigError, match=r"needs torchao, which is not installed: pip install 'sfumato\[fast\]"):
        check_options(EngineOptions(device="cuda:0", fast_mode="fp8"))


def test_fp8_with_an_offload_plan_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    with pytest.raises(EngineConfigError, match="cannot be combined with memory_plan model_offload"):
        check_options(EngineOptions(device="cuda", fast_mode="fp8", memory_plan="model_offload"))


@pytest.mark.parametrize("plan", ["model_offload", "sequential_offload"])
def test_offload_plans_on_the_cpu_are_refused(tmp_path: Path, plan: str) -> None:
    with pytest.raises(EngineConfigError, match=f"memory_plan {plan} offloads .* the device is the CPU"):
        EngineOptions.from_settings(settings(tmp_path, device="cpu", memory_plan=plan))


# --- the CPU path keeps its pixels ------------------------------------------------------------------


def test_default_options_on_the_cpu_leave_pictures_bit_identical(tmp_path: Path) -> None:
    plain = build_tiny_pipeline().to("cpu")
    plain.set_progress_bar_config(disable=True)
    options = EngineOptions.from_settings(settings(tmp_path, device="cpu"))  # every setting at its default
    prepared = build_tiny_pipeline()
    preparation = prepare_pipeline(prepared, options)
    expected = render(plain)
    assert np.array_equal(render(prepared), expected)
    assert not np.array_equal(render(prepared, seed=8), expected)  # the comparison can fail
    unet: Any = prepared.unet
    assert not any(isinstance(p, FusedAttnProcessor2_0) for p in unet.attn_processors.values())
    assert not unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    # Nothing but the placement was applied, and the preparation says so.
    assert preparation == Preparation(
        pipeline="StableDiffusionPipeline", device="cpu", dtype=None, memory=replace(preparation.memory, plan="none")
    )


# --- VAE slicing and tiling -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "plan", "wanted"),
    [
        ("auto", "none", False),
        ("auto", "model_offload", True),
        ("auto", "sequential_offload", True),
        ("on", "none", True),
        ("off", "model_offload", False),
    ],
)
def test_vae_tiling_table(setting: str, plan: str, wanted: bool) -> None:
    assert vae_tiling_wanted(setting, plan) is wanted


@pytest.mark.parametrize(("setting", "flags"), [("on", True), ("off", False), ("auto", False)])
def test_vae_slicing_and_tiling_flags_are_set_when_chosen(setting: str, flags: bool) -> None:
    pipe = build_tiny_pipeline()
    assert prepare_pipeline(pipe, EngineOptions(vae_tiling=setting)).vae == VaeDecoding(slicing=flags, tiling=flags)
    vae: Any = pipe.vae
    assert (vae.use_slicing, vae.use_tiling) == (flags, flags)
    assert render(pipe).shape == (1, CALL["height"], CALL["width"], 3)


# --- the CUDA speed-ups, as functions --------------------------------------------------------------------


def test_fused_qkv_projections_keep_the_maths() -> None:
    plain, fused = build_tiny_pipeline(), build_tiny_pipeline()
    for pipe in (plain, fused):
        pipe.set_progress_bar_config(disable=True)
    assert fuse_qkv_projections(fused) == QkvFusion(fused=("unet",))  # the tiny VAE has no attention
    unet: Any = fused.unet
    assert all(isinstance(p, FusedAttnProcessor2_0) for p in unet.attn_processors.values())
    np.testing.assert_allclose(render(fused), render(plain), atol=1e-5)  # same maths, other summation order


def test_fused_qkv_projections_on_a_flux_transformer() -> None:
    pipe = build_tiny_family_pipeline("flux")
    assert fuse_qkv_projections(pipe) == QkvFusion(fused=("transformer",))
    attentions = [m for m in pipe.transformer.modules() if hasattr(m, "fused_projections")]
    assert attentions and all(m.fused_projections for m in attentions)


@pytest.mark.parametrize("family", ["sd15", "sdxl", "sd3", "flux"])
def test_qkv_fusion_bytes_are_exactly_what_fusing_adds(family: str) -> None:
    pipe = build_tiny_pipeline() if family == "sd15" else build_tiny_family_pipeline(family)
    before, extra = measure_weights(pipe).total_bytes, qkv_fusion_bytes(pipe)
    assert fuse_qkv_projections(pipe).fused
    assert measure_weights(pipe).total_bytes - before == extra > 0


def test_qkv_is_fused_only_while_the_weights_stay_resident(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = build_tiny_family_pipeline("flux")
    sizes, extra = measure_weights(pipe), qkv_fusion_bytes(pipe)
    fused_need = sizes.total_bytes + extra + activation_headroom(sizes.largest_bytes + extra)
    free = {"bytes": fused_need}
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (free["bytes"], 80 * GIB))
    cuda = EngineOptions(device="cuda", memory_plan="auto")
    plan = plan_with_fusion(pipe, cuda)
    assert (plan.memory.plan, plan.fuse, plan.skipped_bytes) == ("none", True, 0)
    free["bytes"] = fused_need - 1  # the unfused weights still fit: resident, not fused, and the reason kept
    plan = plan_with_fusion(pipe, cuda)
    assert (plan.memory.plan, plan.fuse, plan.skipped_bytes) == ("none", False, extra)
    plan = plan_with_fusion(pipe, replace(cuda, memory_plan="model_offload"))  # the operator's choice: not a skip
    assert (plan.memory.plan, plan.fuse, plan.skipped_bytes) == ("model_offload", False, 0)
    plan = plan_with_fusion(pipe, replace(cuda, device="cpu"))  # never on the CPU
    assert (plan.memory.plan, plan.fuse, plan.skipped_bytes) == ("none", False, 0)


def test_channels_last_for_the_unet_and_vae_only() -> None:
    pipe = build_tiny_pipeline()
    assert use_channels_last(pipe) == ("unet", "vae")
    unet: Any = pipe.unet
    assert unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    assert use_channels_last(build_tiny_family_pipeline("flux")) == ("vae",)


@pytest.mark.parametrize("family", ["sd15", "sdxl", "sd3", "flux"])
def test_attention_runs_on_sdpa_by_default(family: str) -> None:
    pipe = build_tiny_pipeline() if family == "sd15" else build_tiny_family_pipeline(family)
    assert attention_backends(pipe) == {SDPA}


def test_an_opt_in_that_cannot_work_as_asked_is_warned_about() -> None:
    clean = Preparation(
        pipeline="FluxPipeline", device="cuda", dtype=torch.bfloat16, memory=PlanChoice("none", "fits"),
        attention=frozenset({SDPA}), compiled=Compiled("transformer", "regional"), fp8="transformer",
    )  # fmt: skip
    assert clean.warnings() == []
    for wrong in (
        replace(clean, compiled=None),  # fp8 without torch_compile
        replace(clean, attention=frozenset({SDPA, "AttnProcessor"})),
        replace(clean, compiled=Compiled("transformer", "skipped")),
        replace(clean, compiled=Compiled(None, "skipped")),
    ):
        assert len(wrong.warnings()) == 1, wrong


# --- torch.compile and the warm-up --------------------------------------------------------------------


@dataclass
class CompileRecorder:
    """What the stand-in for torch.compile was given, and the first input's shape of every compiled call."""

    targets: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    shapes: list[tuple[int, ...]] = field(default_factory=list)


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> CompileRecorder:
    """Replace torch.compile by a pass-through that records what it was given and what runs through it."""
    recorder = CompileRecorder()

    def fake_compile(target: Callable[..., Any], **kwargs: Any) -> Callable[..., Any]:
        recorder.targets.append((target, kwargs))

        def run(*args: Any, **call_kwargs: Any) -> Any:
            if args and isinstance(args[0], torch.Tensor):  # a UNet's latents come first
                recorder.shapes.append(tuple(args[0].shape))
            return target(*args, **call_kwargs)

        return run

    monkeypatch.setattr(torch, "compile", fake_compile)
    return recorder


@pytest.mark.parametrize("torch_compile", [False, True])
def test_warm_up_runs_exactly_when_compiling_and_after_it(compiled: CompileRecorder, torch_compile: bool) -> None:
    events: list[str] = []
    pipe = build_tiny_pipeline()

    def warm_up(ready: Any) -> None:
        assert ready is pipe
        events.append(f"warm-up after {len(compiled.targets)} compile(s)")

    preparation = prepare_pipeline(pipe, EngineOptions(torch_compile=torch_compile), warm_up=warm_up)
    assert events == (["warm-up after 1 compile(s)"] if torch_compile else [])
    assert [target.__self__ for target, _ in compiled.targets] == ([pipe.unet] if torch_compile else [])
    assert preparation.compiled == (Compiled("unet", "whole") if torch_compile else None)
    assert preparation.warmed_up is torch_compile


def test_the_renderer_warms_a_compiled_model_up_at_load(compiled: CompileRecorder, tmp_path: Path) -> None:
    source = ModelSource.from_folder(ensure_tiny_model(tmp_path / "tiny"))
    cache: PipelineCache[Any] = PipelineCache()
    renderer = Renderer(EngineOptions(torch_compile=True), cache)
    pipe: Any = renderer.load(source)
    ((target, _),) = compiled.targets
    assert target.__self__ is pipe.unet
    # The warm-up went through the compiled call: two steps at Sfumato Tiny's native 64 px (an 8x8
    # latent), CFG doubling the batch, before any request.
    assert compiled.shapes == [(2, 4, 8, 8)] * 2
    request = RenderRequest("a lighthouse", "", 32, 32, 1, 7, 5.0, 2, "EULER_DISCRETE")
    renderer.render(source, request)
    assert compiled.shapes[2:] == [(2, 4, 4, 4)] * 2 and cache.stats().loads == 1


def test_the_warm_up_takes_the_catalog_native_size_and_guidance(compiled: CompileRecorder, tmp_path: Path) -> None:
    source = ModelSource.from_folder(ensure_tiny_model(tmp_path / "tiny"), "sd15")
    Renderer(EngineOptions(torch_compile=True)).load(replace(source, native_size=(32, 48), default_guidance=1.0))
    assert compiled.shapes == [(1, 4, 6, 4)] * 2  # 48 high, 32 wide; guidance 1: no CFG batch


def test_a_transformer_compiles_its_repeated_blocks_fullgraph(compiled: CompileRecorder) -> None:
    pipe = build_tiny_family_pipeline("flux")
    assert compile_denoiser(pipe, "none") == Compiled("transformer", "regional")
    blocks = [*pipe.transformer.transformer_blocks, *pipe.transformer.single_transformer_blocks]
    assert [target.__self__ for target, _ in compiled.targets] == blocks
    assert all(kwargs == {"fullgraph": True} for _, kwargs in compiled.targets)


def test_offload_plans_compile_regionally_or_not_at_all(compiled: CompileRecorder) -> None:
    pipe = build_tiny_pipeline()
    assert compile_denoiser(pipe, "sequential_offload") == Compiled("unet", "skipped")
    assert compiled.targets == []
    assert compile_denoiser(pipe, "model_offload") == Compiled("unet", "regional")
    assert {type(target.__self__).__name__ for target, _ in compiled.targets} == {"BasicTransformerBlock"}
