"""ControlNets (`RenderRequest.controls`): the family's ControlNet pipelines, the catalog's
ControlNet per kind, the preprocessors.

Each guide's kind picks a catalog ControlNet for the model's family (`AuxiliaryModels.controlnet_entry`);
its source picture, at the render's size, goes through the kind's preprocessor (`stages/preprocess.py`)
and the family's ControlNet pipeline for the task draws with it, at the guide's scale
(`controlnet_conditioning_scale`). Several guides are diffusers' multi-ControlNet (a list). The
ControlNet pipeline is made once per (task, ControlNets) with `from_pipe` over the base's modules
and kept with the model, so the base pipeline itself never changes.

FLUX: its ControlNet pipeline draws the control image's VAE sample from the render's generator
before the initial noise, so the same seed would start from other noise than without ControlNets.
Text-to-image renders therefore get their initial latents made here first, exactly as the plain
pipeline makes them, and a scale of 0 draws the same picture as no ControlNet. (Image-to-image and
inpaint noise the init image inside the pipeline: there a FLUX ControlNet at scale 0 gives a
picture of the same image and seed, not the identical pixels.)
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch

from sfumato.engine.errors import EngineConfigError
from sfumato.engine.request import RenderRequest, Task

if TYPE_CHECKING:
    from diffusers.pipelines.pipeline_utils import DiffusionPipeline

    from sfumato.catalog import ControlNetEntry
    from sfumato.engine.renderer import LoadedModel, Renderer


def _entries(model: LoadedModel, request: RenderRequest, renderer: Renderer) -> list[ControlNetEntry]:
    """The catalog row serving each guide; a kind without one is a configuration error naming it."""
    family = model.family
    served_by = family.controlnet_family or family.name
    if renderer.auxiliary is None:
        raise EngineConfigError("this renderer has no auxiliary models, so no ControlNets")
    entries = []
    for guide in request.controls:
        entry = renderer.auxiliary.controlnet_entry(served_by, guide.kind)
        if entry is None:
            raise EngineConfigError(
                f"no {guide.kind} ControlNet for {family.label} models is in the catalog: add a [[controlnet]] row "
                f"with family = {served_by!r} and kind = {guide.kind!r} (docs/models.md)"
            )
        entries.append(entry)
    return entries


def _fits(controlnet: Any, pipe: DiffusionPipeline) -> bool:
    """Whether `controlnet` was made for a denoiser of this shape (a built-in tiny ControlNet fits
    only the tiny model it was made from)."""
    config, denoiser = controlnet.config, getattr(pipe, "unet", None) or getattr(pipe, "transformer")  # noqa: B009
    keys = ("cross_attention_dim", "block_out_channels", "in_channels") if hasattr(pipe, "unet") else (
        "joint_attention_dim", "num_attention_heads", "attention_head_dim", "in_channels")  # fmt: skip
    return all(config.get(key) == denoiser.config.get(key) for key in keys)


def _controlnets(model: LoadedModel, request: RenderRequest, renderer: Renderer) -> tuple[list[str], list[Any]]:
    assert renderer.auxiliary is not None
    ids, nets = [], []
    base = model.base
    for entry in _entries(model, request, renderer):
        net = renderer.auxiliary.controlnet(entry)
        if not _fits(net, base):
            raise EngineConfigError(
                f"ControlNet {entry.name} ({entry.id}) does not fit this model's denoiser (it was made for another "
                f"{model.family.label} architecture): install a {entry.family} ControlNet of kind {entry.kind} "
                "(`sfumato models pull <id>`; docs/models.md lists them)"
            )
        ids.append(entry.id)
        nets.append(net.to(base.device))
    return ids, nets


def controlled_pipeline(model: LoadedModel, request: RenderRequest, renderer: Renderer) -> DiffusionPipeline:
    """The pipeline a render calls: the task's, or with ControlNets its ControlNet pipeline, made once
    per (task, ControlNets) from the base's modules (`from_pipe`) and cached with the model."""
    if not request.controls:
        return model.pipeline(request.task)
    from sfumato.engine.weights.loaders import derive_pipeline

    ids, nets = _controlnets(model, request, renderer)
    pipeline_class = model.family.controlnet_pipelines[request.task].load()
    controlnet: Any = nets[0] if len(nets) == 1 else nets
    return model.derived(
        ("controlnet", request.task, tuple(ids)),
        lambda: derive_pipeline(model.base, pipeline_class, controlnet=controlnet),
    )


# Family call knobs some ControlNet pipelines lack: CFG rescale (only SDXL's ControlNet inpaint has
# it; the contrast knob keeps its style terms) and FLUX's true-CFG scale (absent from its ControlNet
# img2img/inpaint, which take no negative prompt: `Flux.check_controls` refuses one there).
_OPTIONAL_KWARGS = ("guidance_rescale", "true_cfg_scale")


def controlnet_kwargs(pipe: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The family's call `kwargs` without those `pipe` (a ControlNet pipeline) does not take that are
    optional knobs or unset (None: a negative prompt not sent)."""
    accepted = inspect.signature(type(pipe).__call__).parameters
    return {
        name: value
        for name, value in kwargs.items()
        if name in accepted or not (name in _OPTIONAL_KWARGS or value is None)
    }


@contextmanager
def controls_applied(model: LoadedModel, request: RenderRequest, renderer: Renderer) -> Iterator[dict[str, Any]]:
    """A request feature (`renderer.REQUEST_FEATURES`): the control images and scales for the call
    (nothing of the shared model changes)."""
    if not request.controls:
        yield {}
        return
    from sfumato.engine.stages.preprocess import control_image

    auxiliary = renderer.auxiliary
    assert auxiliary is not None
    images = [
        control_image(guide.kind, guide.image, request.width, request.height, auxiliary) for guide in request.controls
    ]
    scales = [guide.scale for guide in request.controls]
    pipe = controlled_pipeline(model, request, renderer)
    name = "control_image" if "control_image" in inspect.signature(type(pipe).__call__).parameters else "image"
    single = len(images) == 1
    kwargs: dict[str, Any] = {
        name: images[0] if single else images,
        "controlnet_conditioning_scale": scales[0] if single else scales,
    }
    if hasattr(pipe, "transformer") and request.task is Task.TEXT_TO_IMAGE:
        kwargs["latents"] = _flux_latents(pipe, request)
    yield kwargs


def _flux_latents(pipe: Any, request: RenderRequest) -> torch.Tensor:
    """FLUX's initial (packed) latents for `request`, drawn as its plain pipeline draws them (see
    the module doc): from each image's own generator, before the pipeline touches them."""
    from sfumato.engine.renderer import seeded_generators

    channels = pipe.transformer.config.in_channels // 4
    latents, _ = pipe.prepare_latents(
        request.num_images,
        channels,
        request.height,
        request.width,
        pipe.transformer.dtype,
        pipe._execution_device,
        seeded_generators(request),
    )
    return latents
