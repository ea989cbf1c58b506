"""Stable Diffusion 3 / 3.5 (`StableDiffusion3Pipeline`): two CLIP text encoders plus T5, an
MMDiT transformer trained with flow matching, classic classifier-free guidance.

Leonardo's seven schedulers are samplers for noise-prediction (DDPM-trained) models; of them only
Euler has a flow-matching counterpart, the model's own `FlowMatchEulerDiscreteScheduler`, so
EULER_DISCRETE (the default) is honoured and the others are refused at POST. Sides must be a
multiple of 16 (the VAE's 8x times the transformer's 2x2 patches); the pipeline rejects others.
"""

from __future__ import annotations

from typing import Any

from sfumato.engine.families.common import check_flow_match, flow_match_scheduler
from sfumato.engine.families.sd import pipeline_kwargs as classic_pipeline_kwargs
from sfumato.engine.request import RenderRequest

FAMILIES = ("sd3",)
PIPELINE = "StableDiffusion3Pipeline"
SIZE_MULTIPLE = 16
# T5 tokens of the prompt (the pipeline's default; SD 3.5 was trained with 256).
MAX_SEQUENCE_LENGTH = 256

make_scheduler = flow_match_scheduler


def check_request(request: RenderRequest) -> None:
    check_flow_match(request, "sd3", SIZE_MULTIPLE)


def pipeline_kwargs(request: RenderRequest) -> dict[str, Any]:
    # prompt_2/prompt_3 and the negative counterparts default to prompt / negative_prompt.
    return {**classic_pipeline_kwargs(request), "max_sequence_length": MAX_SEQUENCE_LENGTH}
