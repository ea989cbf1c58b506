"""FLUX.1 (`FluxPipeline`): a CLIP text encoder (pooled) plus T5, a flow-matching transformer.

`guidance_scale` is FLUX.1 [dev]'s *distilled* guidance: a number fed to the transformer, one
pass per step, not classifier-free guidance (FLUX.1 [schnell] ignores it). A negative prompt has
no place in that; diffusers 0.42 adds "true" CFG for it (`negative_prompt` + `true_cfg_scale`),
a second transformer pass per step. Sfumato honours a non-empty negative prompt that way, at
`TRUE_CFG_SCALE`, so such renders cost about twice as much (which is why `resolve` leaves preset
styles' stock negative terms out on FLUX).

Scheduler and size rules are SD3's: only EULER_DISCRETE (the model's flow-matching Euler), sides
multiples of 16 (8x VAE, then 2x2 latent packing).
"""

from __future__ import annotations

from typing import Any

from sfumato.engine.families.common import check_flow_match, flow_match_scheduler
from sfumato.engine.request import RenderRequest

FAMILIES = ("flux",)
PIPELINE = "FluxPipeline"
SIZE_MULTIPLE = 16
# T5 tokens of the prompt: FLUX.1 [dev]'s 512, the most the pipeline accepts.
MAX_SEQUENCE_LENGTH = 512
# The true-CFG scale diffusers documents for FLUX with a negative prompt.
TRUE_CFG_SCALE = 4.0

make_scheduler = flow_match_scheduler


def check_request(request: RenderRequest) -> None:
    check_flow_match(request, "flux", SIZE_MULTIPLE)


def pipeline_kwargs(request: RenderRequest) -> dict[str, Any]:
    negative = request.negative_prompt or None
    return {
        "prompt": request.prompt,
        "negative_prompt": negative,
        "true_cfg_scale": TRUE_CFG_SCALE if negative else 1.0,
        "width": request.width,
        "height": request.height,
        "num_images_per_prompt": request.num_images,
        "guidance_scale": request.guidance_scale,
        "num_inference_steps": request.num_inference_steps,
        "max_sequence_length": MAX_SEQUENCE_LENGTH,
    }
