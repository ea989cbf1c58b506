"""Stable Diffusion XL (`StableDiffusionXLPipeline`): two CLIP text encoders (both get the same
prompt and negative prompt), a UNet with size conditioning, classic classifier-free guidance, and
all seven Leonardo schedulers (it takes the same Karras-family schedulers as SD 1.x)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sfumato.engine.types import RenderRequest

if TYPE_CHECKING:  # diffusers (and torch) load only when a render needs them, not for a POST check
    from diffusers.schedulers.scheduling_utils import SchedulerMixin

FAMILIES = ("sdxl",)


def check_request(request: RenderRequest) -> None:
    """Every Leonardo knob Sfumato honours applies to SDXL: nothing to refuse."""


def make_scheduler(name: str, base_config: Mapping[str, Any]) -> SchedulerMixin:
    """Any of Leonardo's seven schedulers, derived from the model's own scheduler config."""
    from sfumato.engine.schedulers import make_scheduler as leonardo_scheduler

    return leonardo_scheduler(name, base_config)


def pipeline_kwargs(request: RenderRequest) -> dict[str, Any]:
    # prompt_2 / negative_prompt_2 default to prompt / negative_prompt. original_size and
    # target_size default to the output size, which is what a plain text-to-image call wants.
    return {
        "prompt": request.prompt,
        "negative_prompt": request.negative_prompt or None,
        "width": request.width,
        "height": request.height,
        "num_images_per_prompt": request.num_images,
        "guidance_scale": request.guidance_scale,
        "num_inference_steps": request.num_inference_steps,
    }
