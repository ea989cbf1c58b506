"""`POST /generations` body: Leonardo's field names, strict types, and our refusals.

Every documented key is known (so none gets `Unexpected variable`) and each is honoured by a
technique (docs/knobs.md), or, where no open technique exists (`expandedDomain`,
`fantasyAvatar`), refused with a 400 that names it and says why (`domain.finishing`). Neutral
values (null, false, an empty list, "disabled") ask for nothing: the official SDKs send many
fields as null, and null means "absent".
"""

from __future__ import annotations

from typing import Any

from pydantic import StrictBool

from sfumato.domain.elements import ElementRef
from sfumato.domain.finishing import FinishingRequest
from sfumato.domain.generation import MAX_PROMPT_CHARS, GenerationRequest
from sfumato.domain.guidance import LEGACY_TYPES, WEIGHT_MAX, WEIGHT_MIN, ControlnetRef
from sfumato.domain.image_inputs import CanvasMode, ImageOrigin, ImageRef
from sfumato.domain.presets import STYLE_UUID_PRESETS
from sfumato.errors import GENERATION_ARGS_PATH, ClientError
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
    preprocessorId: Int  # the Python SDK sends it as an integral float (67.0)
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
    # Guidance, elements, finishing and prompt help (issue #12; docs/knobs.md).
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


def parse_create_generation(payload: Any) -> GenerationRequest:
    """Validate a decoded JSON body; raises a Leonardo-shaped ClientError."""
    body = validated_body(CreateGenerationBody, payload, GENERATION_ARGS_PATH)

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
    legacy_controlnet = _legacy_controlnet(body, init_image)
    if legacy_controlnet:  # the legacy ControlNet takes the init image as its control image, not for img2img
        init_image = None
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
        controlnets=_controlnets(body) + legacy_controlnet,
        image_prompts=_image_prompts(body),
        image_prompt_weight=None if body.imagePromptWeight is None else float(body.imagePromptWeight),
        elements=_elements(body),
        tiling=bool(body.tiling),
        finishing=_finishing(body),
        enhance_prompt=bool(body.enhancePrompt),
        enhance_prompt_instruction=_enhance_instruction(body),
    )


# --- prompt help: `enhancePrompt` + `enhancePromptInstruction` (the LLM call is the service's) ---


def _enhance_instruction(body: CreateGenerationBody) -> str | None:
    """The rewrite's instruction, which only applies with `enhancePrompt: true`."""
    instruction = body.enhancePromptInstruction
    if instruction is not None and not body.enhancePrompt:
        raise _refuse("enhancePromptInstruction", "enhancePromptInstruction applies with enhancePrompt: true")
    if instruction is not None and len(instruction) > MAX_PROMPT_CHARS:
        raise _refuse(
            "enhancePromptInstruction",
            f"Invalid enhancePromptInstruction, maximum length of {MAX_PROMPT_CHARS} characters exceeded.",
        )
    return instruction


# --- image guidance: `controlnets[]`, the legacy `controlNet` fields, `imagePrompts` ---


def _controlnets(body: CreateGenerationBody) -> tuple[ControlnetRef, ...]:
    """The `controlnets[]` entries as domain references (their ids and weights are checked
    against the model in `domain.guidance`)."""
    refs = []
    for index, entry in enumerate(body.controlnets or ()):
        field = f"controlnets[{index}]"
        image = ImageRef(ImageOrigin(entry.initImageType), entry.initImageId, f"{field}.initImageId")
        refs.append(
            ControlnetRef(
                image=image,
                preprocessor_id=entry.preprocessorId,
                weight=None if entry.weight is None else float(entry.weight),
                strength_type=entry.strengthType,
                influence=None if entry.influence is None else float(entry.influence),
                field=field,
            )
        )
    return tuple(refs)


def _legacy_controlnet(body: CreateGenerationBody, init: ImageRef | None) -> tuple[ControlnetRef, ...]:
    """The legacy `controlNet: true` + `controlNetType` (+ `weighting`): one ControlNet of that kind
    whose control image is the init image, as Leonardo's legacy ControlNet took it. The render is
    then text-to-image (to guide an img2img render too, send `controlnets[]` with the init image)."""
    if not body.controlNet:
        for field in ("controlNetType", "weighting"):
            if getattr(body, field) is not None:
                raise _refuse(field, f"{field} is part of the legacy ControlNet: send it with controlNet: true "
                              "(or use controlnets[])")  # fmt: skip
        return ()
    if body.controlNetType is None:
        raise _refuse("controlNetType", "controlNet: true needs controlNetType (CANNY, DEPTH or POSE)")
    if init is None or body.canvasRequest:
        raise _refuse("controlNet", "the legacy controlNet takes its control image from init_image_id or "
                      "init_generation_image_id: send one (or use controlnets[])")  # fmt: skip
    if body.init_strength is not None:
        raise _refuse("init_strength", "with controlNet: true the init image is the ControlNet's control image, "
                      "not an image-to-image source; to do both send controlnets[] with the init image")  # fmt: skip
    weight = None
    if body.weighting is not None:
        weight = float(body.weighting)
        if not WEIGHT_MIN <= weight <= WEIGHT_MAX:
            raise _refuse("weighting", f"weighting must be between 0 and 2, got {weight:g}")
    return (
        ControlnetRef(
            image=init,
            preprocessor_id=None,
            weight=weight,
            field="controlNetType",
            legacy_kind=LEGACY_TYPES[body.controlNetType],
        ),
    )


def _image_prompts(body: CreateGenerationBody) -> tuple[ImageRef, ...]:
    """`imagePrompts`: init image ids (uploads) whose pictures guide as references; null entries are absent."""
    return tuple(
        ImageRef(ImageOrigin.UPLOADED, image_id, f"imagePrompts[{index}]")
        for index, image_id in enumerate(body.imagePrompts or ())
        if image_id is not None
    )


# --- elements: `elements[]`, `userElements[]` ---


def _elements(body: CreateGenerationBody) -> tuple[ElementRef, ...]:
    """The requested LoRA elements, catalog ones then the user's, as sent; `userLoraId` is an
    integer, which the Python SDK sends as an integral float."""
    refs = [
        ElementRef(entry.akUUID, None, _weight(entry.weight), f"elements[{i}]")
        for i, entry in enumerate(body.elements or ())
    ]
    for i, user_entry in enumerate(body.userElements or ()):
        field = f"userElements[{i}]"
        number = user_entry.userLoraId
        if number is None or not float(number).is_integer():
            raise _refuse(f"{field}.userLoraId", f"{field}.userLoraId must be a user element's id, a whole number")
        refs.append(ElementRef(None, int(number), _weight(user_entry.weight), field))
    return tuple(refs)


def _weight(weight: float | None) -> float | None:
    return None if weight is None else float(weight)


# --- finishing and style knobs ---


def _finishing(body: CreateGenerationBody) -> FinishingRequest:
    """Alchemy's and Prompt Magic's options, PhotoReal, Ultra and contrast, as sent (null: absent;
    `highContrast: false` is kept, since it asks for Prompt Magic's RAW mode)."""

    def number(value: float | None) -> float | None:
        return None if value is None else float(value)

    return FinishingRequest(
        high_resolution=body.highResolution,
        ultra=body.ultra,
        upscale_ratio=number(body.upscaleRatio),
        photo_real=body.photoReal,
        photo_real_version=body.photoRealVersion,
        photo_real_strength=number(body.photoRealStrength),
        prompt_magic=body.promptMagic,
        prompt_magic_strength=number(body.promptMagicStrength),
        prompt_magic_version=body.promptMagicVersion,
        contrast=number(body.contrast),
        contrast_ratio=number(body.contrastRatio),
        high_contrast=body.highContrast,
        expanded_domain=body.expandedDomain,
        fantasy_avatar=body.fantasyAvatar,
    )


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
