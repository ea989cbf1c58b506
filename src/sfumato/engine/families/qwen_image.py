"""Qwen-Image and Qwen-Image-Edit-Plus.

Qwen-Image (`QwenImagePipeline`): a 20B MMDiT reading the last hidden layer of Qwen2.5-VL 7B, with a
16-channel 3D-causal VAE (8x, latents packed 2x2: sides a multiple of 16) and flow matching (only
EULER_DISCRETE, the model's flow-matching Euler, as `FlowMatching` says). It is not
guidance-distilled: its guidance is real classifier-free guidance, which diffusers spells
`true_cfg_scale` and runs only with a negative prompt. So Leonardo's `guidance_scale` is the
true-CFG scale, and above 1 the negative side is the request's negative prompt or, without one, the
single space Qwen's model cards use (two transformer passes per step); at 1 or below, one pass, and a
negative prompt is refused (it would change nothing).
Image-to-image (`QwenImageImg2ImgPipeline`) and inpaint (`QwenImageInpaintPipeline`) take the same
call plus the init image, its noise strength and the mask, so hi-res passes run too.

Qwen-Image-Edit-Plus (`QwenImageEditPlusPipeline`, Qwen-Image-Edit-2509): the same transformer
trained to edit 1-3 pictures, which it reads twice: VAE-encoded beside the noise, and shown to the
Qwen2.5-VL encoder with the prompt as "Picture 1", "Picture 2", ... Those pictures are Leonardo's
image references (`Family.native_references`) and, on image-to-image, the init image first (stretched
to the requested size); the pipeline has no noise strength, so the init strength does not apply
(as on FLUX Kontext) and no hi-res pass can run. It needs a picture: a prompt alone is refused
(Qwen-Image draws from text). Its folder's `processor` is loaded by Sfumato
(`weights/qwen_processor.py`: transformers builds that class only with torchvision).

Both are diffusers folders told apart by their pipeline class (`model_index.json`); no
single-file layout of a whole Qwen-Image model exists, so there is no `key_fragment`. diffusers has
no Qwen IP-Adapter; its Qwen ControlNet pipelines are not wired (no Qwen ControlNet is in the
catalog), so both are refused by name. LoRA elements would load through `QwenImageLoraLoaderMixin`,
but no Leonardo `baseModel` names Qwen-Image, so the service refuses elements as of another base.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sfumato.engine.families.base import FamilyDefaults, FlowMatching, by_task, refuse
from sfumato.engine.request import RenderRequest, Task

_PACKAGE = "diffusers.pipelines.qwenimage"
# The negative prompt Qwen's model cards pass for true CFG when there is nothing to steer away from.
BLANK_NEGATIVE = " "
# Pictures Qwen-Image-Edit-2509 is trained to combine (its card: "1 to 3 input images").
EDIT_PICTURES = 3


class QwenImage(FlowMatching):
    name = "qwen-image"
    title = "Qwen-Image"
    pipelines = by_task(
        _PACKAGE,
        text_to_image=("pipeline_qwenimage", "QwenImagePipeline"),
        image_to_image=("pipeline_qwenimage_img2img", "QwenImageImg2ImgPipeline"),
        inpaint=("pipeline_qwenimage_inpaint", "QwenImageInpaintPipeline"),
    )
    defaults = FamilyDefaults("v3", 1328, 1328, 50, 4.0)
    # A negative prompt acts only with CFG on (and is refused without it), so a preset style's stock
    # negative terms are left out: a style must not make a CFG-off request refused.
    style_negative_terms = False
    references_rule = (
        "diffusers has no IP-Adapter for Qwen-Image; Qwen-Image-Edit-Plus models take reference pictures "
        "natively: use one of those"
    )

    def check(self, request: RenderRequest) -> None:
        super().check(request)
        if request.negative_prompt and request.guidance_scale <= 1:
            raise refuse(
                "negative_prompt",
                f"a negative prompt needs {self.label}'s classifier-free guidance, which is off at guidance_scale "
                f"{request.guidance_scale:g}: ask for a guidance_scale above 1, or remove negative_prompt",
            )

    def check_controls(self, request: RenderRequest) -> None:
        if request.controls:
            raise refuse(
                "controlnets",
                f"ControlNet guidance is not supported for {self.label} models: diffusers' Qwen-Image ControlNet "
                "pipelines are not wired in Sfumato and its catalog has no Qwen-Image ControlNet; use an SD 1.5, "
                "SD 2, SDXL or FLUX.1 model",
            )

    def pipeline_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        """True CFG at `guidance_scale` (above 1), against the negative prompt or a blank one."""
        cfg = request.guidance_scale > 1
        return {
            **super().pipeline_kwargs(request),
            "negative_prompt": (request.negative_prompt or BLANK_NEGATIVE) if cfg else None,
            "true_cfg_scale": request.guidance_scale if cfg else 1.0,
            "guidance_scale": None,  # that input is for guidance-distilled transformers; Qwen's is not
        }


class QwenImageEditPlus(QwenImage):
    name = "qwen-image-edit-plus"
    title = "Qwen-Image-Edit-Plus"
    pipelines = by_task(
        _PACKAGE,
        text_to_image=("pipeline_qwenimage_edit_plus", "QwenImageEditPlusPipeline"),
        image_to_image=("pipeline_qwenimage_edit_plus", "QwenImageEditPlusPipeline"),
    )
    defaults = FamilyDefaults("v3", 1024, 1024, 40, 4.0)
    strength_tasks = frozenset()
    native_references = EDIT_PICTURES

    def folder_components(self, folder: Path) -> dict[str, Any]:
        from sfumato.engine.weights.qwen_processor import PROCESSOR_FOLDER, load_processor

        return {"processor": load_processor(folder / PROCESSOR_FOLDER)}

    def check(self, request: RenderRequest) -> None:
        if request.task is Task.INPAINT:
            raise refuse(
                "canvasRequestType",
                f"inpaint is not supported for {self.label} models: diffusers has no inpaint pipeline for them "
                "(its Qwen inpaint pipelines are Qwen-Image's and Qwen-Image-Edit's); use a Qwen-Image model",
            )
        super().check(request)
        if request.init is None and not any(ref.scale > 0 for ref in request.references):
            raise refuse(
                "init_image_id",
                f"{self.label} models edit pictures: send an init image or image references (imagePrompts, or "
                "Style/Character/Content references at a strength above 0), or draw from the prompt alone with a "
                "Qwen-Image model",
            )

    def reference_limit(self, request: RenderRequest) -> int:
        """An edit's init image takes one of the pictures."""
        return self.native_references - (request.init is not None)

    def reference_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        """The `image=` list: the init image first (stretched to the requested size), then the references
        at a scale above 0, as they are (the pipeline sizes each itself)."""
        from PIL import Image

        pictures = []
        if request.init is not None:
            size = (request.width, request.height)
            pictures.append(request.init.image.convert("RGB").resize(size, Image.Resampling.LANCZOS))
        pictures += [ref.image.convert("RGB") for ref in request.references if ref.scale > 0]
        return {"image": pictures} if pictures else {}

    def image_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        """The init image travels in `reference_kwargs`' list (the pipeline has no other image input).
        A request without any picture is refused (`check`); only the warm-up render, which calls the
        pipeline with no request features, comes here without one: it edits a grey picture."""
        if request.init is not None or request.references:
            return {}
        from PIL import Image

        return {"image": [Image.new("RGB", (request.width, request.height), (128, 128, 128))]}
