"""Stable Diffusion 1.x and 2.x (`StableDiffusionPipeline`): one CLIP text encoder, a UNet,
classic classifier-free guidance, and all seven Leonardo schedulers (SD 2.x's v-prediction is in
the model's scheduler config, which every swapped-in scheduler inherits)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sfumato.engine.request import RenderRequest

if TYPE_CHECKING:  # diffusers (and torch) load only when a render needs them, not for a POST check
    from diffusers.schedulers.scheduling_utils import SchedulerMixin

FAMILIES = ("sd15", "sd2")
PIPELINE = "StableDiffusionPipeline"  # the diffusers class a single-file checkpoint loads with


def check_request(request: RenderRequest) -> None:
    """Every Leonardo knob Sfumato honours applies to SD 1.x/2.x: nothing to refuse."""


def make_scheduler(name: str, base_config: Mapping[str, Any]) -> SchedulerMixin:
    """Any of Leonardo's seven schedulers, derived from the model's own scheduler config."""
    from sfumato.engine.families.schedulers import make_scheduler as leonardo_scheduler

    return leonardo_scheduler(name, base_config)


def pipeline_kwargs(request: RenderRequest) -> dict[str, Any]:
    return {
        "prompt": request.prompt,
        "negative_prompt": request.negative_prompt or None,
        "width": request.width,
        "height": request.height,
        "num_images_per_prompt": request.num_images,
        "guidance_scale": request.guidance_scale,
        "num_inference_steps": request.num_inference_steps,
    }
