"""`POST /generations` body: Leonardo's field names, strict types, and our refusals.

Every documented key is known (so none gets `Unexpected variable`), but only some are
honoured today. A known key whose feature Sfumato lacks is refused with a 400 naming it,
unless it carries its neutral value (null, false, empty list, "disabled"): the official
SDKs send many fields as null, and null means "absent".
"""

from __future__ import annotations

from typing import Any

from pydantic import StrictBool

from sfumato.domain.elements import ElementRef
from sfumato.domain.finishing import FinishingRequest
from sfumato.domain.generation import GenerationRequest
from sfumato.domain.guidance import ControlnetRef
from sfumato.domain.image_inputs import CanvasMode, ImageOrigin, ImageRef
from sfumato.domain.presets import STYLE_UUID_PRESETS
from sfumato.errors import GENERATION_ARGS_PATH, ClientError, NotSupported
from sfumato.wire.enums import (
    CanvasRequestType,
    ControlnetType,
    InitImageType,
    PresetStyle,
    Scheduler,
    SdVersion,
    StrengthType,
    Transparency,
)
from sfumato.wire.types import Int, Number, StrictBody, Text, validated_body


class ControlnetInput(StrictBody):
    initImageId: Text
    initImageType: InitImageType
    preprocessorId: Number
    weight: Number | None = None
    strengthType: StrengthType | None = None
    influence: Number | None = None


class ElementInput(StrictBody):
    akUUID: Text
    weight: Number | None = None


class UserElementInput(StrictBody):
    userLoraId: Number | None = None
    weight: Number | None = None


class CreateGenerationBody(StrictBody):
    """Every key of the spec's request body, plus the keys Leonardo's guides send."""

    prompt: Text
    negative_prompt: Text | None = None
    modelId: Text | None = None
    sd_version: SdVersion | None = None
    width: Int | None = None
    height: Int | None = None
    num_images: Int | None = None
    num_inference_steps: Int | None = None
    guidance_scale: Number | None = None
    seed: Int | None = None
    scheduler: Scheduler | None = None
    presetStyle: PresetStyle | None = None
    styleUUID: Text | None = None
    alchemy: StrictBool | None = None
    public: StrictBool | None = None
    # Known, not honoured yet (see NOT_YET_SUPPORTED).
    contrast: Number | None = None
    contrastRatio: Number | None = None
    controlnets: list[ControlnetInput] | None = None
    elements: list[ElementInput] | None = None
    userElements: list[UserElementInput] | None = None
    expandedDomain: StrictBool | None = None
    fantasyAvatar: StrictBool | None = None
    highContrast: StrictBool | None = None
    highResolution: StrictBool | None = None
    imagePrompts: list[Text | None] | None = None
    imagePromptWeight: Number | None = None
    init_generation_image_id: Text | None = None
    init_image_id: Text | None = None
    init_strength: Number | None = None
    photoReal: StrictBool | None = None
    photoRealVersion: Text | None = None
    photoRealStrength: Number | None = None
    promptMagic: StrictBool | None = None
    promptMagicStrength: Number | None = None
    promptMagicVersion: Text | None = None
    tiling: StrictBool | None = None
    transparency: Transparency | None = None
    ultra: StrictBool | None = None
    unzoom: StrictBool | None = None
    unzoomAmount: Number | None = None
    upscaleRatio: Number | None = None
    controlNet: StrictBool | None = None
    controlNetType: ControlnetType | None = None
    weighting: Number | None = None
    canvasRequest: StrictBool | None = None
    canvasRequestType: CanvasRequestType | None = None
    canvasInitId: Text | None = None
    canvasMaskId: Text | None = None
    enhancePrompt: StrictBool | None = None
    enhancePromptInstruction: Text | None = None


# Field -> the feature it asks for. Each is refused until its technique exists.
NOT_YET_SUPPORTED: dict[str, str] = {
    "contrast": "contrast (Phoenix/Flux contrast)",
    "contrastRatio": "Alchemy contrast ratio",
    "controlnets": "ControlNet / image guidance",
    "elements": "Elements (LoRA)",
    "userElements": "user-trained Elements (LoRA)",
    "expandedDomain": "Alchemy Expanded Domain",
    "fantasyAvatar": "Fantasy Avatar",
    "highContrast": "Prompt Magic high contrast",
    "highResolution": "Prompt Magic high resolution",
    "imagePrompts": "image prompts",
    "imagePromptWeight": "image prompts",
    "photoReal": "PhotoReal",
    "photoRealVersion": "PhotoReal",
    "photoRealStrength": "PhotoReal",
    "promptMagic": "Prompt Magic",
    "promptMagicStrength": "Prompt Magic",
    "promptMagicVersion": "Prompt Magic",
    "tiling": "tiling",
    "ultra": "Ultra mode",
    "upscaleRatio": "upscaling",
    "controlNet": "legacy ControlNet",
    "controlNetType": "legacy ControlNet",
    "weighting": "legacy ControlNet",
    "enhancePrompt": "prompt enhancement",
    "enhancePromptInstruction": "prompt enhancement",
}


def _is_neutral(value: Any) -> bool:
    """Null, false, an empty list or "disabled": the value that asks for nothing."""
    return value is None or value is False or value == [] or value == "disabled"


def parse_create_generation(payload: Any) -> GenerationRequest:
    """Validate a decoded JSON body; raises a Leonardo-shaped ClientError."""
    body = validated_body(CreateGenerationBody, payload, GENERATION_ARGS_PATH)

    for field, feature in NOT_YET_SUPPORTED.items():
        value = getattr(body, field)
        if not _is_neutral(value):
            raise NotSupported(
                f"{field} is not supported by Sfumato yet ({feature}); remove it from the request",
                f"{GENERATION_ARGS_PATH}.{field}",
            )

    preset: str | None = body.presetStyle
    if body.styleUUID is not None:
        preset = STYLE_UUID_PRESETS.get(body.styleUUID.lower())
        if preset is None:
            raise ClientError(
                f"styleUUID {body.styleUUID} is not a style Sfumato knows; known: "
                + ", ".join(f"{uuid} ({name})" for uuid, name in STYLE_UUID_PRESETS.items()),
                f"{GENERATION_ARGS_PATH}.styleUUID",
            )

    init_image, mask_image = _image_inputs(body)
    return GenerationRequest(
        prompt=body.prompt,
        negative_prompt=body.negative_prompt,
        model_id=body.modelId,
        sd_version=body.sd_version,
        width=body.width,
        height=body.height,
        num_images=body.num_images,
        num_inference_steps=body.num_inference_steps,
        guidance_scale=None if body.guidance_scale is None else float(body.guidance_scale),
        seed=body.seed,
        scheduler=body.scheduler,
        preset_style=preset,
        alchemy=body.alchemy,
        public=body.public,
        init_image=init_image,
        mask_image=mask_image,
        init_strength=None if body.init_strength is None else float(body.init_strength),
        transparent=body.transparency == "foreground_only",
        unzoom_amount=_unzoom_amount(body, init_image, mask_image),
        controlnets=_controlnets(body),
        image_prompts=_image_prompts(body),
        image_prompt_weight=None if body.imagePromptWeight is None else float(body.imagePromptWeight),
        elements=_elements(body),
        tiling=bool(body.tiling),
        finishing=_finishing(body),
        enhance_prompt=bool(body.enhancePrompt),
        enhance_prompt_instruction=body.enhancePromptInstruction,
    )


# --- image guidance: `controlnets[]`, the legacy `controlNet` fields, `imagePrompts` ---


def _controlnets(body: CreateGenerationBody) -> tuple[ControlnetRef, ...]:
    """The `controlnets[]` entries (and the legacy fields) as domain references."""
    return ()


def _image_prompts(body: CreateGenerationBody) -> tuple[ImageRef, ...]:
    """`imagePrompts`: init image ids whose pictures guide as references."""
    return ()


# --- elements: `elements[]`, `userElements[]` ---


def _elements(body: CreateGenerationBody) -> tuple[ElementRef, ...]:
    """The requested LoRA elements, catalog ones then the user's, as sent."""
    return ()


# --- finishing and style knobs ---


def _finishing(body: CreateGenerationBody) -> FinishingRequest:
    """Alchemy's and Prompt Magic's options, PhotoReal, Ultra and contrast, as sent."""
    return FinishingRequest()


def _unzoom_amount(body: CreateGenerationBody, init: ImageRef | None, mask: ImageRef | None) -> float | None:
    """`unzoom: true` + `unzoomAmount`: outpaint around an init image (not a canvas request)."""
    if not body.unzoom:
        if body.unzoomAmount is not None:
            raise _refuse("unzoomAmount", "unzoomAmount applies with unzoom: true")
        return None
    if init is None or body.canvasRequest:
        raise _refuse("unzoom", "unzoom outpaints around an init image: send init_image_id or init_generation_image_id")
    if body.unzoomAmount is None:
        raise _refuse("unzoomAmount", "unzoom needs unzoomAmount (how much to zoom out, above 0 and at most 1)")
    return float(body.unzoomAmount)


def _refuse(field: str, message: str) -> ClientError:
    return ClientError(message, f"{GENERATION_ARGS_PATH}.{field}")


def _image_inputs(body: CreateGenerationBody) -> tuple[ImageRef | None, ImageRef | None]:
    """The init image and mask the body names (sfumato.domain.image_inputs): one way at a time."""
    canvas_fields = {"canvasRequestType": body.canvasRequestType, "canvasInitId": body.canvasInitId,
                     "canvasMaskId": body.canvasMaskId}  # fmt: skip
    if not body.canvasRequest:
        for field, value in canvas_fields.items():
            if value is not None:
                raise _refuse(field, f"{field} is part of a canvas request: send it with canvasRequest: true")
        if body.init_image_id is not None and body.init_generation_image_id is not None:
            raise _refuse(
                "init_generation_image_id", "send one init image: init_image_id or init_generation_image_id, not both"
            )
        if body.init_image_id is not None:
            return ImageRef(ImageOrigin.UPLOADED, body.init_image_id, "init_image_id"), None
        if body.init_generation_image_id is not None:
            return ImageRef(ImageOrigin.GENERATED, body.init_generation_image_id, "init_generation_image_id"), None
        return None, None

    for field in ("init_image_id", "init_generation_image_id"):
        if getattr(body, field) is not None:
            raise _refuse(field, f"a canvas request takes its image from canvasInitId; remove {field}")
    if body.canvasRequestType is None:
        raise _refuse(
            "canvasRequestType", "a canvas request needs canvasRequestType (INPAINT, OUTPAINT, IMG2IMG, SKETCH2IMG)"
        )
    if body.canvasInitId is None:
        raise _refuse("canvasInitId", "a canvas request needs canvasInitId (an image from POST /canvas-init-image)")
    mode = CanvasMode(body.canvasRequestType)
    init = ImageRef(ImageOrigin.UPLOADED, body.canvasInitId, "canvasInitId")
    if not mode.repaints_mask:
        if body.canvasMaskId is not None:
            raise _refuse("canvasMaskId", f"{mode.value} redraws the whole canvas image; remove canvasMaskId "
                          "(a mask applies to INPAINT and OUTPAINT)")  # fmt: skip
        return init, None
    if body.canvasMaskId is None:
        raise _refuse("canvasMaskId", f"{mode.value} repaints the white part of a mask: send canvasMaskId")
    return init, ImageRef(ImageOrigin.UPLOADED, body.canvasMaskId, "canvasMaskId")
