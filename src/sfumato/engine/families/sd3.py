"""Stable Diffusion 3 / 3.5 (`StableDiffusion3Pipeline`): two CLIP text encoders plus T5, an
MMDiT transformer trained with flow matching, classic classifier-free guidance.

Flow matching's rules (`FlowMatching`): EULER_DISCRETE (the default) is honoured and Leonardo's
other schedulers are refused at POST; sides must be a multiple of 16, which the pipeline needs.
"""

from __future__ import annotations

from typing import Any

from sfumato.engine.families.base import FamilyDefaults, FlowMatching, by_task
from sfumato.engine.request import RenderRequest

# T5 tokens of the prompt (the pipeline's default; SD 3.5 was trained with 256).
MAX_SEQUENCE_LENGTH = 256


class SD3(FlowMatching):
    name = "sd3"
    pipelines = by_task(
        "diffusers.pipelines.stable_diffusion_3",
        text_to_image=("pipeline_stable_diffusion_3", "StableDiffusion3Pipeline"),
        image_to_image=("pipeline_stable_diffusion_3_img2img", "StableDiffusion3Img2ImgPipeline"),
        inpaint=("pipeline_stable_diffusion_3_inpaint", "StableDiffusion3InpaintPipeline"),
    )
    defaults = FamilyDefaults("v3", 1024, 1024, 30, 7.0)
    key_fragment = "joint_blocks."
    references_rule = (
        "diffusers' SD3 IP-Adapter is InstantX's SD 3.5 Large adapter with a SigLIP image encoder, which "
        "Sfumato does not wire; use an SD 1.5, SDXL or FLUX model"
    )

    def pipeline_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        # prompt_2/prompt_3 and the negative counterparts default to prompt / negative_prompt.
        return {**super().pipeline_kwargs(request), "max_sequence_length": MAX_SEQUENCE_LENGTH}
