"""Z-Image (Tongyi-MAI; `ZImagePipeline`): a Qwen3 text encoder and a 6B single-stream
flow-matching transformer. Z-Image-Turbo is its distilled release: 8-9 steps, CFG off.

Guidance. Z-Image's pipelines spell classifier-free guidance as `pos + s * (pos - neg)`, so their
`guidance_scale` s is classic CFG's scale minus one (their 0 is "off"). Leonardo's `guidance_scale`
(1-20) is classic CFG's, so Sfumato passes `guidance_scale - 1`: 1 runs one transformer pass per
step (Turbo's card: `guidance_scale=0.0`), above 1 runs real CFG with the negative prompt. A
negative prompt at 1 would change nothing, so it is refused rather than dropped; a preset style's
stock negative terms are left out (`style_negative_terms`), as a negative prompt is only ever a
second pass.

The rest is flow matching's (`FlowMatching`): the model's own Euler scheduler, sides multiples of
16 (8x VAE, 2x2 patches), no seamless tiling (RoPE). Image-to-image and inpaint are diffusers'
`ZImageImg2ImgPipeline` / `ZImageInpaintPipeline` on the same modules, so hi-res passes work too;
LoRA elements load through diffusers' `ZImageLoraLoaderMixin`. Seeds take the 32-bit range.
"""

from __future__ import annotations

from typing import Any

from sfumato.engine.families.base import FamilyDefaults, FlowMatching, by_task, refuse
from sfumato.engine.request import RenderRequest

# Qwen3 tokens of the chat-formatted prompt: the pipeline's default and the most its card uses.
MAX_SEQUENCE_LENGTH = 512


class ZImage(FlowMatching):
    name = "z-image"
    title = "Z-Image"
    pipelines = by_task(
        "diffusers.pipelines.z_image",
        text_to_image=("pipeline_z_image", "ZImagePipeline"),
        image_to_image=("pipeline_z_image_img2img", "ZImageImg2ImgPipeline"),
        inpaint=("pipeline_z_image_inpaint", "ZImageInpaintPipeline"),
    )
    # Z-Image-Turbo's card: 1024 px, 9 steps, CFG off (Leonardo's 1). sd_version: Leonardo's enum
    # has no Z-Image; v3, as the catalog's rows of the newer flow-matching transformers say.
    defaults = FamilyDefaults("v3", 1024, 1024, 9, 1.0)
    references_rule = "no IP-Adapter exists for Z-Image; use an SD 1.5, SDXL or FLUX model"
    style_negative_terms = False

    def check_controls(self, request: RenderRequest) -> None:
        """diffusers has Z-Image ControlNet pipelines (Alibaba's Fun ControlNet Union, one model for
        every kind), but no catalog ControlNet of that shape is wired in Sfumato."""
        if request.controls:
            raise refuse(
                "controlnets",
                "ControlNet guidance is not supported for Z-Image models: diffusers' Z-Image ControlNet (a single "
                "union model) is not wired in Sfumato; use an SD 1.5, SD 2, SDXL or FLUX.1 model",
            )

    def check(self, request: RenderRequest) -> None:
        super().check(request)
        if request.negative_prompt and request.guidance_scale <= 1:
            raise refuse(
                "negative_prompt",
                f"a negative prompt needs classifier-free guidance, which is off at guidance_scale "
                f"{request.guidance_scale:g} (Z-Image Turbo runs without it, as distilled): raise guidance_scale "
                "above 1, or remove negative_prompt",
            )

    def pipeline_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        return {
            **super().pipeline_kwargs(request),
            "guidance_scale": max(request.guidance_scale - 1.0, 0.0),
            "max_sequence_length": MAX_SEQUENCE_LENGTH,
        }
