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
2147483637, as Leonardo documents for FLUX. Image-to-image (`FluxImg2ImgPipeline`) and inpaint
(`FluxInpaintPipeline`, which works with FLUX.1 [dev]'s own transformer) take the same call plus
the init image, its strength and the mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from sfumato.engine.families.base import (
    DiffusersClass,
    FamilyDefaults,
    FlowMatching,
    by_task,
    reference_field,
    refuse,
)
from sfumato.engine.request import RenderRequest, Task

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
    controlnet_pipelines = by_task(
        _PACKAGE,
        text_to_image=("pipeline_flux_controlnet", "FluxControlNetPipeline"),
        image_to_image=("pipeline_flux_controlnet_image_to_image", "FluxControlNetImg2ImgPipeline"),
        inpaint=("pipeline_flux_controlnet_inpainting", "FluxControlNetInpaintPipeline"),
    )
    defaults = FamilyDefaults("FLUX_DEV", 1024, 1024, 30, 3.5)
    key_fragment = "double_blocks."
    ip_adapter_family: ClassVar[str | None] = "flux"  # XLabs' adapter (FluxIPAdapterMixin)
    seed_max = 2_147_483_637
    style_negative_terms = False

    def check_controls(self, request: RenderRequest) -> None:
        """Also: FLUX's ControlNet image-to-image and inpaint pipelines take no negative prompt."""
        super().check_controls(request)
        if request.controls and request.negative_prompt and request.task is not Task.TEXT_TO_IMAGE:
            raise refuse(
                "negative_prompt",
                f"{self.label}'s ControlNet {request.task.value} pipeline takes no negative prompt: "
                "remove negative_prompt, or the init image, or the controlnets",
            )

    def pipeline_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        return {
            **super().pipeline_kwargs(request),
            "true_cfg_scale": TRUE_CFG_SCALE if request.negative_prompt else 1.0,
            "max_sequence_length": MAX_SEQUENCE_LENGTH,
        }


class FluxKontext(Flux):
    """FLUX.1 Kontext (`FluxKontextPipeline`): FLUX.1 [dev]'s architecture trained to edit a
    context image; with no image it draws from the prompt alone, which is what a Leonardo
    text-to-image request asks for (its image-to-image is the same pipeline given an `image`).

    The rules are FLUX's. One Kontext difference: the pipeline rescales every output to `max_area`
    (1024² by default, keeping the aspect ratio), so the call sets `max_area` to the requested area
    and the picture keeps the requested size.

    Image-to-image is Kontext's own edit: the init image, stretched to the requested size, is the
    context image the model changes as the prompt says (`_auto_resize` off, so diffusers does not
    move it to one of Kontext's preferred sizes). That pipeline has no noise strength, so the init
    image's strength does not apply (`FamilyTraits.init_strength` is False for it); a plain FLUX
    img2img pass over Kontext's weights would honour a strength but lose the edit Kontext is for.
    Inpaint (`FluxKontextInpaintPipeline`) honours strength like FLUX's.

    Its diffusers folders are recognised by their pipeline class; a single file has FLUX's tensor
    names (no `key_fragment` of its own) and is detected as FLUX.
    """

    name = "flux-kontext"
    lora_family = "flux"  # FLUX.1-dev LoRAs load on Kontext's transformer (same blocks)
    pipelines = by_task(
        _PACKAGE,
        text_to_image=("pipeline_flux_kontext", "FluxKontextPipeline"),
        image_to_image=("pipeline_flux_kontext", "FluxKontextPipeline"),
        inpaint=("pipeline_flux_kontext_inpaint", "FluxKontextInpaintPipeline"),
    )
    defaults = FamilyDefaults("FLUX_DEV", 1024, 1024, 28, 2.5)
    strength_tasks = frozenset({Task.INPAINT})
    # Its context image is its guidance: diffusers has no Kontext ControlNet pipeline.
    controlnet_pipelines: ClassVar[Mapping[Task, DiffusersClass]] = MappingProxyType({})

    ip_adapter_family = None  # a reference is its context image instead (see `check_references`)
    native_references = 1

    def check_references(self, request: RenderRequest) -> None:
        """One image reference, on a text-to-image request: it becomes the context image (stretched
        to the requested size) that Kontext draws from, as it edits an init image. Kontext has no
        strength for its context, so any scale above 0 passes the picture as it is and 0 leaves it
        out (drawing as without it); a second reference, or one beside an init image, has no place."""
        if len(request.references) > 1:
            raise refuse(
                reference_field(request.references[1].kind),
                "FLUX Kontext models take one reference picture (it becomes their context image); send one",
            )
        if request.references and request.init is not None:
            raise refuse(
                reference_field(request.references[0].kind),
                "FLUX Kontext models take one context image, which the init image already is; "
                "send the reference or the init image",
            )

    def reference_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        """Text-to-image: the reference picture as the context image (`check_references`)."""
        if not request.references or request.references[0].scale <= 0:
            return {}
        from PIL import Image

        size = (request.width, request.height)
        return {"image": request.references[0].image.convert("RGB").resize(size, Image.Resampling.LANCZOS)}

    def pipeline_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        return {
            **super().pipeline_kwargs(request),
            "max_area": request.width * request.height,
            "_auto_resize": False,
        }
