"""How a freshly loaded pipeline is made ready for its machine: placement, memory plan, speed-ups.

`EngineOptions` is what the engine is told (from Settings), resolved and checked at startup so a
setting this machine cannot honour is refused before any job runs. `prepare_pipeline` applies it
to a pipeline right after `from_pretrained`/`from_single_file`, before the cache sizes it, and
returns a `Preparation`: what was chosen and applied, as values. `report` logs it, in one place.

Speed-ups that change the last bits of a picture (fused QKV projections, channels-last) run on
CUDA only: on the CPU the same seed keeps giving the same pixels. The opt-ins (`torch_compile`,
`fast_mode`) are off unless set, and say what they trade (docs/performance.md).
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch

from sfumato.engine.errors import EngineConfigError
from sfumato.engine.runtime.device import pick_device, pick_dtype
from sfumato.engine.runtime.memory import GIB, OFFLOAD_PLANS, PlanChoice, resolve_memory_plan

if TYPE_CHECKING:
    from diffusers.pipelines.pipeline_utils import DiffusionPipeline

    from sfumato.config import EngineSettings

log = logging.getLogger(__name__)

WarmUp = Callable[["DiffusionPipeline"], None]
# FP8 matrix multiplies need Ada Lovelace / Hopper tensor cores (compute capability 8.9+).
FP8_MIN_CAPABILITY = (8, 9)
FAST_EXTRA_HINT = "pip install 'sfumato[fast]'"
# The modules a pipeline spends its steps in, in the order they are looked for.
DENOISERS = ("transformer", "unet")
# What `attention_backends` calls diffusers' SDPA processors (flash / memory-efficient kernels).
SDPA = "sdpa"


@dataclass(frozen=True)
class EngineOptions:
    """The engine's knobs, resolved: a concrete device and dtype, and the settings' choices."""

    device: str = "cpu"
    dtype: torch.dtype | None = None  # None: the checkpoint's own (float32 for the tiny models)
    memory_plan: str = "none"
    vae_tiling: str = "auto"
    torch_compile: bool = False
    fast_mode: str = "off"

    @classmethod
    def from_settings(cls, settings: EngineSettings) -> EngineOptions:
        """Resolve `auto`s for this machine and refuse what it cannot do (raises EngineConfigError)."""
        device = pick_device(settings.device)
        options = cls(
            device=device,
            dtype=pick_dtype(settings.dtype, device),
            memory_plan=settings.memory_plan,
            vae_tiling=settings.vae_tiling,
            torch_compile=settings.torch_compile,
            fast_mode=settings.fast_mode,
        )
        check_options(options)
        return options

    @property
    def on_cuda(self) -> bool:
        return torch.device(self.device).type == "cuda"


@dataclass(frozen=True)
class FusionPlan:
    """The memory plan, and whether QKV projections are fused under it."""

    memory: PlanChoice
    fuse: bool
    skipped_bytes: int = 0  # fusion's extra bytes, when they would have pushed the weights off the GPU


@dataclass(frozen=True)
class QkvFusion:
    """Which modules got fused QKV projections (`refused`: diffusers would not, e.g. added KV projections)."""

    fused: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    skipped_bytes: int = 0  # not attempted: see FusionPlan.skipped_bytes


@dataclass(frozen=True)
class VaeDecoding:
    """Whether the VAE decodes a batch one image at a time (slicing) and big images in tiles."""

    slicing: bool = False
    tiling: bool = False


@dataclass(frozen=True)
class Compiled:
    """What torch.compile was applied to: the denoiser (None: the pipeline has none) and how.

    `skipped`: sequential offload streams the weights inside the call, which compiled graphs cannot follow.
    """

    module: str | None
    scope: Literal["whole", "regional", "skipped"]


@dataclass(frozen=True)
class Preparation:
    """What `prepare_pipeline` chose and applied to one pipeline, as values (`report` logs them)."""

    pipeline: str  # the pipeline's class name
    device: str
    dtype: torch.dtype | None  # None: the checkpoint's own
    memory: PlanChoice
    qkv: QkvFusion = QkvFusion()
    channels_last: tuple[str, ...] = ()
    fp8: str | None = None  # the denoiser quantized to FP8 weights and activations
    vae: VaeDecoding = VaeDecoding()
    attention: frozenset[str] | None = None  # the kinds of attention processors found; None: not checked (CPU)
    compiled: Compiled | None = None  # None: torch_compile off
    warmed_up: bool = False

    def summary(self) -> str:
        """One line saying what was applied, in the order it was."""
        applied: list[str] = []
        if self.qkv.fused:
            applied.append(f"fused QKV projections ({', '.join(self.qkv.fused)})")
        if self.qkv.skipped_bytes:
            gib = f"{self.qkv.skipped_bytes / GIB:.1f} GiB"
            applied.append(f"QKV projections not fused (with their extra {gib} the weights would not stay on the GPU)")
        if self.qkv.refused:
            refused = ", ".join(self.qkv.refused)
            applied.append(f"QKV projections of {refused} not fused (diffusers refuses added KV projections)")
        if self.channels_last:
            applied.append(f"channels-last ({', '.join(self.channels_last)})")
        if self.fp8 is not None:
            applied.append(f"FP8 weights and activations ({self.fp8}, torchao)")
        applied.append(_placement(self.memory.plan, self.device))
        applied += [name for name, on in (("VAE slicing", self.vae.slicing), ("VAE tiling", self.vae.tiling)) if on]
        if self.attention is not None:
            applied.append(_attention_summary(self.attention))
        if self.compiled is not None:
            applied.append(_compile_summary(self.compiled))
        if self.warmed_up:
            applied.append("warm-up render done")
        dtype = self.dtype or "checkpoint's own"
        return (
            f"prepared {self.pipeline} on {self.device} (dtype {dtype}, "
            f"memory plan {self.memory.plan}: {self.memory.reason}): {'; '.join(applied)}"
        )

    def warnings(self) -> list[str]:
        """What an operator should act on: an opt-in that cannot work as well as asked."""
        found: list[str] = []
        if self.fp8 is not None and self.compiled is None:
            found.append("fast_mode fp8 without torch_compile: the activations' FP8 casts run as separate kernels, "
                         "which can be slower than bf16; set SFUMATO_TORCH_COMPILE=true")  # fmt: skip
        if self.attention and self.attention != {SDPA}:  # None: not checked; empty: no attention at all
            found.append(f"attention is not all PyTorch SDPA: {sorted(self.attention)}")
        if self.compiled is not None and self.compiled.scope == "skipped":
            found.append(_compile_summary(self.compiled))
        return found


def report(preparation: Preparation) -> None:
    """Log a preparation: its summary at INFO, anything worth a look at WARNING."""
    for warning in preparation.warnings():
        log.warning("%s: %s", preparation.pipeline, warning)
    log.info("%s", preparation.summary())


def check_options(options: EngineOptions) -> None:
    """Refuse combinations that cannot work here, naming the setting to change."""
    if options.memory_plan in OFFLOAD_PLANS and torch.device(options.device).type == "cpu":
        raise EngineConfigError(
            f"memory_plan {options.memory_plan} offloads weights from an accelerator to host RAM, but the device "
            "is the CPU: set SFUMATO_MEMORY_PLAN=auto or none"
        )
    if options.fast_mode == "fp8":
        require_fp8_support(options.device)
        if options.memory_plan in OFFLOAD_PLANS:
            raise EngineConfigError(
                f"fast_mode fp8 quantizes the denoiser on the GPU and cannot be combined with memory_plan "
                f"{options.memory_plan}: set SFUMATO_MEMORY_PLAN=none (or auto) or SFUMATO_FAST_MODE=off"
            )
    elif options.fast_mode != "off":
        raise EngineConfigError(f"unknown fast_mode {options.fast_mode!r}: expected off or fp8")


def require_fp8_support(device: str) -> None:
    """FP8 weights need a CUDA GPU of compute capability 8.9+ and torchao; refuse clearly otherwise."""
    if torch.device(device).type != "cuda" or not torch.cuda.is_available():
        raise EngineConfigError(
            f"fast_mode fp8 needs a CUDA GPU with compute capability >= 8.9 (Ada Lovelace, Hopper or later), "
            f"but the device is {device}: set SFUMATO_FAST_MODE=off"
        )
    capability = torch.cuda.get_device_capability(torch.device(device))
    if capability < FP8_MIN_CAPABILITY:
        name = torch.cuda.get_device_name(torch.device(device))
        raise EngineConfigError(
            f"fast_mode fp8 needs compute capability >= 8.9 (FP8 tensor cores); {name} has "
            f"{capability[0]}.{capability[1]}: set SFUMATO_FAST_MODE=off"
        )
    if importlib.util.find_spec("torchao") is None:
        raise EngineConfigError(f"fast_mode fp8 needs torchao, which is not installed: {FAST_EXTRA_HINT}")


def prepare_pipeline(pipe: DiffusionPipeline, options: EngineOptions, warm_up: WarmUp | None = None) -> Preparation:
    """Apply `options` to a freshly loaded pipeline (on the CPU), in place; returns what was done.

    Order matters: projections are fused and memory formats set while the weights are still
    plain tensors, FP8 quantizes the fused weights, placement follows, and compilation comes
    last so it traces the final modules. With torch_compile, `warm_up(pipe)` then renders once
    so the compile happens at load, not in the first request.
    """
    check_options(options)
    plan = plan_with_fusion(pipe, options)
    if options.fast_mode == "fp8" and plan.memory.plan != "none":
        raise EngineConfigError(
            f"fast_mode fp8 needs the whole pipeline on the GPU, but memory_plan auto chose {plan.memory.plan} "
            f"({plan.memory.reason}): set SFUMATO_MEMORY_PLAN=none to try anyway (FP8 halves the denoiser), "
            "or SFUMATO_FAST_MODE=off"
        )
    qkv = fuse_qkv_projections(pipe) if plan.fuse else QkvFusion(skipped_bytes=plan.skipped_bytes)
    channels_last = use_channels_last(pipe) if options.on_cuda else ()
    fp8 = quantize_denoiser_fp8(pipe, options.device) if options.fast_mode == "fp8" else None
    place(pipe, plan.memory.plan, options.device)
    vae = set_vae_tiling(pipe, vae_tiling_wanted(options.vae_tiling, plan.memory.plan))
    attention = attention_backends(pipe) if options.on_cuda else None
    pipe.set_progress_bar_config(disable=True)
    compiled = compile_denoiser(pipe, plan.memory.plan) if options.torch_compile else None
    warmed_up = options.torch_compile and warm_up is not None
    if options.torch_compile and warm_up is not None:
        warm_up(pipe)
    return Preparation(
        pipeline=type(pipe).__name__,
        device=options.device,
        dtype=options.dtype,
        memory=plan.memory,
        qkv=qkv,
        channels_last=channels_last,
        fp8=fp8,
        vae=vae,
        attention=attention,
        compiled=compiled,
        warmed_up=warmed_up,
    )


def plan_with_fusion(pipe: DiffusionPipeline, options: EngineOptions) -> FusionPlan:
    """The memory plan, and whether to fuse QKV projections (CUDA only: it changes the last bits).

    diffusers keeps the separate projections beside the fused ones (so it can unfuse): about 4 GiB
    more for FLUX's transformer. Fusion is only worth that while every weight stays on the GPU, so
    it is applied when the plan with those bytes counted is still none, and skipped otherwise.
    """
    if not options.on_cuda:
        return FusionPlan(resolve_memory_plan(options.memory_plan, options.device, pipe), fuse=False)
    extra = qkv_fusion_bytes(pipe)
    fused = resolve_memory_plan(options.memory_plan, options.device, pipe, extra_bytes=extra)
    if fused.plan == "none":
        return FusionPlan(fused, fuse=extra > 0)
    unfused = resolve_memory_plan(options.memory_plan, options.device, pipe)
    # Worth saying only when `auto` weighed the extra bytes; an explicit offload plan is the operator's choice.
    return FusionPlan(unfused, fuse=False, skipped_bytes=extra if options.memory_plan == "auto" else 0)


def qkv_fusion_bytes(pipe: DiffusionPipeline) -> int:
    """Bytes `fuse_qkv_projections` adds: a fused copy of every projection it concatenates."""
    total = 0
    for module in _attention_owners(pipe):
        for attention in module.modules():
            if not hasattr(attention, "fuse_projections") or not getattr(attention, "_supports_qkv_fusion", True):
                continue
            cross = getattr(attention, "is_cross_attention", False)  # then the query is not fused
            names = ["to_k", "to_v"] if cross else ["to_q", "to_k", "to_v"]
            added = ["add_q_proj", "add_k_proj", "add_v_proj"]
            if all(getattr(attention, name, None) is not None for name in added):
                names += added
            for name in names:
                projection = getattr(attention, name, None)
                if isinstance(projection, torch.nn.Linear):
                    total += sum(p.nbytes for p in projection.parameters())
    return total


def _attention_owners(pipe: DiffusionPipeline) -> list[Any]:
    """The denoiser and VAE, where they have attention (what fuse_qkv_projections works on)."""
    owners = []
    for name in (*DENOISERS, "vae"):
        module = getattr(pipe, name, None)
        if isinstance(module, torch.nn.Module) and getattr(module, "attn_processors", None):
            owners.append(module)
    return owners


def denoiser(pipe: DiffusionPipeline) -> tuple[str, torch.nn.Module] | None:
    """The component the steps run through (FLUX/SD3's transformer, SD's UNet), if any."""
    for name in DENOISERS:
        module = getattr(pipe, name, None)
        if isinstance(module, torch.nn.Module):
            return name, module
    return None


def place(pipe: DiffusionPipeline, plan: str, device: str) -> None:
    """Put the weights where `plan` says: all on `device`, or in host RAM visiting it per component/layer."""
    if plan == "model_offload":
        pipe.enable_model_cpu_offload(device=device)
    elif plan == "sequential_offload":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device)


def vae_tiling_wanted(setting: str, plan: str) -> bool:
    """`auto` tiles with the offload plans: a GPU too small for the weights is too small for a big decode."""
    if setting == "auto":
        return plan in OFFLOAD_PLANS
    return setting == "on"


def set_vae_tiling(pipe: DiffusionPipeline, wanted: bool) -> VaeDecoding:
    """VAE slicing (decode a batch one image at a time) and tiling (big images in overlapping tiles).

    Both bound the decode's peak memory; tiling may leave faint seams on images larger than a tile.
    """
    vae: Any = getattr(pipe, "vae", None)
    if not wanted or vae is None:
        return VaeDecoding()
    slicing, tiling = hasattr(vae, "use_slicing"), hasattr(vae, "use_tiling")
    if slicing:
        vae.enable_slicing()
    if tiling:
        vae.enable_tiling()
    return VaeDecoding(slicing=slicing, tiling=tiling)


def fuse_qkv_projections(pipe: DiffusionPipeline) -> QkvFusion:
    """One matmul for query, key and value (key and value for cross-attention) in the denoiser and VAE.

    Same maths, fewer and larger kernels; the sums' order changes, so the last bits may differ.
    """
    fused, refused = [], []
    for name in (*DENOISERS, "vae"):
        module = getattr(pipe, name, None)
        fuse = getattr(module, "fuse_qkv_projections", None)
        if fuse is None or not getattr(module, "attn_processors", None):  # no attention, nothing to fuse
            continue
        try:
            fuse()
        except ValueError:  # diffusers refuses modules with added KV projections (IP-Adapter)
            refused.append(name)
            continue
        fused.append(name)
    return QkvFusion(fused=tuple(fused), refused=tuple(refused))


def use_channels_last(pipe: DiffusionPipeline) -> tuple[str, ...]:
    """NHWC memory layout for the convolution-heavy UNet and VAE: cuDNN's tensor-core convolutions
    want it, and it saves their layout transposes. FLUX/SD3 transformers are matmuls, so not them.
    Returns the modules converted."""
    done = []
    for name in ("unet", "vae"):
        module: Any = getattr(pipe, name, None)
        if isinstance(module, torch.nn.Module):
            module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stub lacks it
            done.append(name)
    return tuple(done)


def attention_backends(pipe: DiffusionPipeline) -> frozenset[str]:
    """Which attention kernels the pipeline runs (`SDPA`, else the processor's class and backend).

    With torch 2, diffusers picks PyTorch's SDPA (flash / memory-efficient attention) by itself,
    so nothing is set, only reported. Empty when the pipeline has no attention processors.
    """
    default_backend = _default_attention_backend()
    kinds: set[str] = set()
    for name in (*DENOISERS, "vae"):
        module: Any = getattr(pipe, name, None)
        processors = getattr(module, "attn_processors", None) if isinstance(module, torch.nn.Module) else None
        for processor in (processors or {}).values():
            kinds.add(_attention_kind(processor, default_backend))
    return frozenset(kinds)


def _default_attention_backend() -> str:
    """The backend diffusers' dispatching processors use when none is set (DIFFUSERS_ATTN_BACKEND)."""
    try:
        from diffusers.models.attention_dispatch import _AttentionBackendRegistry
    except ImportError:  # a diffusers without attention dispatch: its processors call SDPA directly
        return "native"
    return str(_AttentionBackendRegistry.get_active_backend()[0].value)


def _attention_kind(processor: object, default_backend: str) -> str:
    """`SDPA` for diffusers' SDPA processors (`*2_0`, or dispatch-based on the native backend)."""
    cls = type(processor).__name__
    if cls.endswith("2_0"):
        return SDPA
    if hasattr(processor, "_attention_backend"):
        backend = processor._attention_backend
        backend = getattr(backend, "value", backend) or default_backend
        return SDPA if backend == "native" else f"{cls} ({backend})"
    return cls


def compile_denoiser(pipe: DiffusionPipeline, plan: str) -> Compiled:
    """torch.compile the denoiser, where the steps' time goes (text encoders and VAE run once).

    Default mode: no CUDA graphs (they pin memory per shape and break under offload hooks) and
    no max-autotune (minutes of kernel search at every load, for little over cuBLAS/cuDNN on
    bf16). A resident UNet compiles whole (its convolutions and norms fuse too); transformers,
    and anything under model offload (whose hooks sit on the whole module), compile only their
    repeated blocks (diffusers' regional compilation: most of the speed, a fraction of the
    compile time). Sequential offload moves every layer's weights inside the call, which compiled
    graphs cannot follow, so it is left eager.
    """
    found = denoiser(pipe)
    if found is None:
        return Compiled(None, "skipped")
    name, module = found
    if plan == "sequential_offload":
        return Compiled(name, "skipped")
    model: Any = module
    if (name == "unet" and plan == "none") or not getattr(model, "_repeated_blocks", None):
        module.compile()
        return Compiled(name, "whole")
    model.compile_repeated_blocks(fullgraph=True)
    return Compiled(name, "regional")


def quantize_denoiser_fp8(pipe: DiffusionPipeline, device: str) -> str:
    """FP8 weights and activations (torchao, per-row scales) for the denoiser's linear layers; returns its name.

    Halves the denoiser's weight memory and runs its matmuls on FP8 tensor cores (fastest with
    torch_compile, which fuses the activation quantization); pictures differ slightly from bf16.
    Quantized on `device` layer by layer, so the full-precision denoiser never has to fit there.
    """
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerRow, quantize_

    found = denoiser(pipe)
    if found is None:
        raise EngineConfigError(f"fast_mode fp8: {type(pipe).__name__} has no unet or transformer to quantize")
    name, module = found
    quantize_(module, Float8DynamicActivationFloat8WeightConfig(granularity=PerRow()), device=device)
    return name


def _placement(plan: str, device: str) -> str:
    if plan == "model_offload":
        return f"model CPU offload to {device}"
    if plan == "sequential_offload":
        return f"sequential CPU offload to {device}"
    return f"weights on {device}"


def _attention_summary(kinds: frozenset[str]) -> str:
    if not kinds:
        return "no attention processors found"
    if kinds == {SDPA}:
        return "attention: PyTorch SDPA (diffusers' default)"
    return f"attention: {', '.join(sorted(kinds))}"


def _compile_summary(compiled: Compiled) -> str:
    if compiled.module is None:
        return "torch.compile: no unet or transformer found, nothing compiled"
    if compiled.scope == "skipped":
        return f"torch.compile skipped for {compiled.module}: sequential offload streams its weights inside the call"
    if compiled.scope == "regional":
        return f"torch.compile (regional: {compiled.module}'s repeated blocks)"
    return f"torch.compile (whole {compiled.module})"
