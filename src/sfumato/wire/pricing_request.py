"""`POST /pricing-calculator`: Leonardo's body (the spec's and the official SDK's
`pricing_calculator` models), strict types, and the price query it asks (`domain.pricing`).

IMAGE_GENERATION is priced as the generation it describes, UNIVERSAL_UPSCALER as that variation;
the services Sfumato does not offer (Fantasy Avatar, which `POST /generations` refuses too, video,
LCM, training, textures, the ultra upscaler) are refused by name. Absent numbers take `POST /generations`'
defaults. `highResolution`, `isUltra`, `photoRealMode` and `promptMagic` (with their strengths and
versions) resolve as the same knobs of `POST /generations` do (`domain.finishing`), so the quote
prices the same second pass. The model flags (`isSDXL`, `isPhoenix`, ...) name the family those
rules check against; they and `inferenceSteps` do not change Sfumato's price (docs/knobs.md "Cost").
"""

from __future__ import annotations

from typing import Any

from pydantic import StrictBool

from sfumato.domain.finishing import FinishingContext, FinishingRequest, resolve_finishing
from sfumato.domain.generation import DEFAULT_HEIGHT, DEFAULT_NUM_IMAGES, DEFAULT_WIDTH, SIZE_MAX, SIZE_MIN
from sfumato.domain.pricing import GenerationQuote, PriceQuery, UpscalerQuote
from sfumato.errors import ClientError, ValidationFailed
from sfumato.wire.enums import PricingService
from sfumato.wire.types import Int, Number, StrictBody, Text, validated_body

PRICING_ARGS_PATH = "$.selectionSet.calculateProductionApiServiceCost.args.arg1"

# Services priced from nothing Sfumato does: what each is, for the refusal.
NOT_OFFERED: dict[str, str] = {
    "FANTASY_AVATAR_GENERATION": "Fantasy Avatar (fantasyAvatar is refused at POST /generations)",
    "MOTION_SVD_GENERATION": "image-to-video (Motion)",
    "MOTION_VIDEO_GENERATION": "video generation",
    "VEO3_MOTION_VIDEO_GENERATION": "Veo 3 video generation",
    "LCM_GENERATION": "LCM realtime generation",
    "MODEL_TRAINING": "model training",
    "TEXTURE_GENERATION": "3D texture generation",
    "UNIVERSAL_UPSCALER_ULTRA": "the universal upscaler's ultra mode",
}


class ImageGenerationParams(StrictBody):
    imageHeight: Int | None = None
    imageWidth: Int | None = None
    numImages: Int | None = None
    inferenceSteps: Int | None = None
    alchemyMode: StrictBool | None = None
    highResolution: StrictBool | None = None
    isUltra: StrictBool | None = None
    loraCount: Int | None = None
    controlnetsCost: Int | None = None
    photoRealMode: StrictBool | None = None
    photoRealStrength: Number | None = None
    photoRealVersion: Text | None = None
    promptMagic: StrictBool | None = None
    promptMagicStrength: Number | None = None
    promptMagicVersion: Text | None = None
    isModelCustom: StrictBool | None = None
    isPhoenix: StrictBool | None = None
    isSDXL: StrictBool | None = None
    isSDXLLightning: StrictBool | None = None
    isFluxSchnell: StrictBool | None = None
    isFluxDev: StrictBool | None = None
    isFluxKontext: StrictBool | None = None


class UniversalUpscalerParams(StrictBody):
    megapixel: Int | None = None


class ServiceParams(StrictBody):
    IMAGE_GENERATION: ImageGenerationParams | None = None
    UNIVERSAL_UPSCALER: UniversalUpscalerParams | None = None
    # Services Sfumato refuses by name: their parameters are not looked at.
    FANTASY_AVATAR_GENERATION: dict[str, Any] | None = None
    MOTION_SVD_GENERATION: dict[str, Any] | None = None
    MOTION_VIDEO_GENERATION: dict[str, Any] | None = None
    VEO3_MOTION_VIDEO_GENERATION: dict[str, Any] | None = None
    LCM_GENERATION: dict[str, Any] | None = None
    MODEL_TRAINING: dict[str, Any] | None = None
    TEXTURE_GENERATION: dict[str, Any] | None = None
    UNIVERSAL_UPSCALER_ULTRA: dict[str, Any] | None = None


class PricingCalculatorBody(StrictBody):
    service: PricingService
    serviceParams: ServiceParams | None = None


def _path(*parts: str) -> str:
    return ".".join((PRICING_ARGS_PATH, *parts))


def _at_least(value: int | None, low: int, path: str, high: int | None = None) -> None:
    if value is not None and (value < low or (high is not None and value > high)):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ClientError(f"{path.rsplit('.', 1)[-1]} must be {bound}, got {value}", path)


def parse_pricing_calculator(payload: Any) -> PriceQuery:
    """The price question the body asks; a 400 naming the field for anything else."""
    body = validated_body(PricingCalculatorBody, payload, PRICING_ARGS_PATH)
    service = body.service
    if service in NOT_OFFERED:
        raise ClientError(
            f"Sfumato does not offer {NOT_OFFERED[service]}, so {service} has no price here; it prices "
            "IMAGE_GENERATION and UNIVERSAL_UPSCALER",
            _path("service"),
        )
    params = body.serviceParams or ServiceParams()
    for other in ServiceParams.model_fields:
        if other != service and getattr(params, other) is not None:
            raise ClientError(
                f"serviceParams.{other} does not apply to service {service}", _path("serviceParams", other)
            )
    if service == "UNIVERSAL_UPSCALER":
        upscaler = params.UNIVERSAL_UPSCALER or UniversalUpscalerParams()
        if upscaler.megapixel is None:
            raise ValidationFailed('expecting a value for non-nullable variable: "megapixel"', _path(
                "serviceParams", service, "megapixel"))  # fmt: skip
        _at_least(upscaler.megapixel, 1, _path("serviceParams", service, "megapixel"))
        return UpscalerQuote(float(upscaler.megapixel))
    return _generation(params.IMAGE_GENERATION or ImageGenerationParams(), service)


def _generation(image: ImageGenerationParams, service: str) -> GenerationQuote:
    where = ("serviceParams", service)
    width = DEFAULT_WIDTH if image.imageWidth is None else image.imageWidth
    height = DEFAULT_HEIGHT if image.imageHeight is None else image.imageHeight
    for field, value in (("imageWidth", width), ("imageHeight", height)):
        _at_least(value, SIZE_MIN, _path(*where, field), SIZE_MAX)
    num_images = DEFAULT_NUM_IMAGES if image.numImages is None else image.numImages
    _at_least(num_images, 1, _path(*where, "numImages"), 8)
    _at_least(image.inferenceSteps, 10, _path(*where, "inferenceSteps"), 60)
    _at_least(image.loraCount, 0, _path(*where, "loraCount"))
    _at_least(image.controlnetsCost, 0, _path(*where, "controlnetsCost"))
    alchemy = True if image.alchemyMode is None else image.alchemyMode
    return GenerationQuote(
        width=width,
        height=height,
        num_images=num_images,
        alchemy=alchemy,
        elements=image.loraCount or 0,
        guides_cost=image.controlnetsCost or 0,
        second_pass=_second_pass(image, alchemy, width, height, where),
    )


def _family(image: ImageGenerationParams) -> str:
    """The model family the flags name (the catalog's family names); SD 1.5 when none is set."""
    if image.isSDXL or image.isSDXLLightning:
        return "sdxl"
    if image.isPhoenix or image.isFluxDev or image.isFluxSchnell or image.isFluxKontext:
        return "flux"
    return "sd15"


def _second_pass(
    image: ImageGenerationParams, alchemy: bool, width: int, height: int, where: tuple[str, ...]
) -> tuple[int, int] | None:
    """The size of the second pass the finishing knobs ask for, as `POST /generations` resolves them."""
    knobs = FinishingRequest(
        high_resolution=image.highResolution, ultra=image.isUltra, photo_real=image.photoRealMode,
        photo_real_version=image.photoRealVersion, photo_real_strength=image.photoRealStrength,
        prompt_magic=image.promptMagic, prompt_magic_strength=image.promptMagicStrength,
        prompt_magic_version=image.promptMagicVersion,
    )  # fmt: skip
    family = _family(image)
    context = FinishingContext(alchemy, True, family, "SDXL_1_0" if family == "sdxl" else "v1_5", width, height, None)
    try:
        plan = resolve_finishing(knobs, context).plan
    except ClientError as error:  # the generation's own refusal, said of this body
        raise ClientError(f"{error.message} (as POST /generations would answer)", _path(*where)) from None
    return plan.output_size(width, height) if plan.hires_scale is not None else None


def calculated_cost(credits: int) -> dict[str, Any]:
    """The calculator's answer."""
    return {"calculateProductionApiServiceCost": {"cost": credits}}
