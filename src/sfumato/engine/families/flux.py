"""FLUX.1 and FLUX.1 Kontext.

FLUX.1 (`FluxPipeline`): a CLIP text encoder (pooled) plus T5, a flow-matching transformer.
`guidance_scale` is FLUX.1 [dev]'s *distilled* guidance: a number fed to the transformer, one
pass per step, not classifier-free guidance (FLUX.1 [schnell] ignores it). A negative prompt has
no place in that; diffusers 0.42 adds "true" CFG for it (`negative_prompt` + `true_cfg_scale`),
a second transformer pass per step. Sfumato honours a non-empty negative prompt that way, at
`TRUE_CFG_SCALE`, so such renders cost about twice as much (which is why a preset style's stock
negative terms are left out on FLUX: `style_negative_terms`).

Scheduler and size rules are SD3's (`FlowMatching`): only EULER_DISCRETE (the model's
flow-matching Euler), sides multiples of 16 (8x VAE, then 2x2 latent packing). Seeds go up to
2147483637, as Leonardo documents for FLUX.
"""

from __future__ import annotations

from typing import Any

from sfumato.engine.families.base import FamilyDefaults, FlowMatching, by_task
from sfumato.engine.request import RenderRequest

_PACKAGE = "diffusers.pipelines.flux"
# T5 tokens of the prompt: FLUX.1 [dev]'s 512, the most the pipeline accepts.
MAX_SEQUENCE_LENGTH = 512
# The true-CFG scale diffusers documents for FLUX with a negative prompt.
TRUE_CFG_SCALE = 4.0


class Flux(FlowMatching):
    name = "flux"
    pipelines = by_task(
        _PACKAGE,
        text_to_image=("pipeline_flux", "FluxPipeline"),
        image_to_image=("pipeline_flux_img2img", "FluxImg2ImgPipeline"),
        inpaint=("pipeline_flux_inpaint", "FluxInpaintPipeline"),
    )
    defaults = FamilyDefaults("FLUX_DEV", 1024, 1024, 30, 3.5)
    key_fragment = "double_blocks."
    seed_max = 2_147_483_637
    style_negative_terms = False

    def pipeline_kwargs(self, request: RenderRequest) -> dict[str, Any]:
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


class FluxKontext(Flux):
    """FLUX.1 Kontext (`FluxKontextPipeline`): FLUX.1 [dev]'s architecture trained to edit a
    context image; with no image it draws from the prompt alone, which is what a Leonardo
    text-to-image request asks for (its image-to-image is the same pipeline given an `image`).

    The rules are FLUX's. One Kontext difference: the pipeline rescales every output to `max_area`
    (1024² by default, keeping the aspect ratio), so the call sets `max_area` to the requested area
    and the picture keeps the requested size.

    Its diffusers folders are recognised by their pipeline class; a single file has FLUX's tensor
    names (no `key_fragment` of its own) and is detected as FLUX.
    """

    name = "flux-kontext"
    pipelines = by_task(
        _PACKAGE,
        text_to_image=("pipeline_flux_kontext", "FluxKontextPipeline"),
        image_to_image=("pipeline_flux_kontext", "FluxKontextPipeline"),
        inpaint=("pipeline_flux_kontext_inpaint", "FluxKontextInpaintPipeline"),
    )
    defaults = FamilyDefaults("FLUX_DEV", 1024, 1024, 28, 2.5)

    def pipeline_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        return {**super().pipeline_kwargs(request), "image": None, "max_area": request.width * request.height}
