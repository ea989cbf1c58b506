"""Stable Diffusion XL (`StableDiffusionXLPipeline`): two CLIP text encoders (both get the same
prompt and negative prompt), a UNet with size conditioning, classic classifier-free guidance, and
all seven Leonardo schedulers (it takes the same Karras-family schedulers as SD 1.x).

The call is SD 1.x's: `prompt_2` / `negative_prompt_2` default to `prompt` / `negative_prompt`, and
`original_size` / `target_size` default to the output size, which a plain text-to-image call wants.
"""

from __future__ import annotations

from sfumato.engine.families.sd import check_request, make_scheduler, pipeline_kwargs

FAMILIES = ("sdxl",)
PIPELINE = "StableDiffusionXLPipeline"

__all__ = ["FAMILIES", "PIPELINE", "check_request", "make_scheduler", "pipeline_kwargs"]
