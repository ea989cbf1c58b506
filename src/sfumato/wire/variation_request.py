"""`POST /variations/...` bodies: Leonardo's names, strict types, and our refusals.

`upscale {id}`, `nobg {id, isVariation}` and `unzoom {id, isVariation}` name a generated image of
the caller's (or, with `isVariation: true`, a variation of theirs). `universal-upscaler` names its
source by `generatedImageId` or `variationId` and honours `upscaleMultiplier`; its other knobs
(creativity, style, the ultra fields, a prompt) shape a diffusion upscaler Sfumato does not have,
so each is refused by name unless it carries the value the official SDKs send by default
(`creativityStrength: 5`, `upscalerStyle: "GENERAL"`) or asks for nothing (null).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import StrictBool

from sfumato.domain.variations import (
    UNIVERSAL_MULTIPLIER_DEFAULT,
    UNIVERSAL_MULTIPLIER_MAX,
    UNIVERSAL_MULTIPLIER_MIN,
    UPSCALE_FACTOR,
    TransformType,
    VariationRequest,
    VariationSource,
)
from sfumato.errors import ClientError, NotSupported
from sfumato.wire.enums import UltraUpscaleStyle, UpscalerStyle
from sfumato.wire.types import Int, Number, StrictBody, Text, validated_body

# Hasura names a body's fields under its wrapped mutation (as `GENERATION_ARGS_PATH` does).
UPSCALE_ARGS_PATH = "$.selectionSet.sdUpscaleJob.args.arg1"
NOBG_ARGS_PATH = "$.selectionSet.sdNobgJob.args.arg1"
UNZOOM_ARGS_PATH = "$.selectionSet.sdUnzoomJob.args.arg1"
UNIVERSAL_ARGS_PATH = "$.selectionSet.universalUpscaler.args.arg1"


class UpscaleBody(StrictBody):
    id: Text


class VariationOfBody(StrictBody):
    """nobg's and unzoom's body: the source, and whether it is a variation's id."""

    id: Text
    isVariation: StrictBool | None = None


class UniversalUpscalerBody(StrictBody):
    generatedImageId: Text | None = None
    variationId: Text | None = None
    initImageId: Text | None = None
    upscaleMultiplier: Number | None = None
    creativityStrength: Int | None = None
    upscalerStyle: UpscalerStyle | None = None
    ultraUpscaleStyle: UltraUpscaleStyle | None = None
    similarity: Int | None = None
    detailContrast: Int | None = None
    prompt: Text | None = None


# Field -> (the value the SDKs send by default, or None: only null asks for nothing; the feature).
_UNIVERSAL_NOT_HONOURED: dict[str, tuple[object, str]] = {
    "creativityStrength": (5, "creative upscaling, which invents detail"),
    "upscalerStyle": ("GENERAL", "upscaler styles"),
    "ultraUpscaleStyle": (None, "Ultra upscaling"),
    "similarity": (None, "Ultra upscaling"),
    "detailContrast": (None, "Ultra upscaling"),
    "prompt": (None, "prompt-guided upscaling"),
}


def parse_upscale(payload: Any) -> VariationRequest:
    body = validated_body(UpscaleBody, payload, UPSCALE_ARGS_PATH)
    source = VariationSource(body.id, is_variation=False, field=f"{UPSCALE_ARGS_PATH}.id")
    return VariationRequest(TransformType.UPSCALE, source, multiplier=UPSCALE_FACTOR)


def parse_nobg(payload: Any) -> VariationRequest:
    return _variation_of(TransformType.NOBG, payload, NOBG_ARGS_PATH)


def parse_unzoom(payload: Any) -> VariationRequest:
    return _variation_of(TransformType.UNZOOM, payload, UNZOOM_ARGS_PATH)


def _variation_of(transform: TransformType, payload: Any, base_path: str) -> VariationRequest:
    body = validated_body(VariationOfBody, payload, base_path)
    return VariationRequest(transform, VariationSource(body.id, bool(body.isVariation), f"{base_path}.id"))


def parse_universal_upscaler(payload: Any) -> VariationRequest:
    body = validated_body(UniversalUpscalerBody, payload, UNIVERSAL_ARGS_PATH)
    for field, (default, feature) in _UNIVERSAL_NOT_HONOURED.items():
        value = getattr(body, field)
        if value is not None and value != default and value != "":
            allowed = "remove it" if default is None else f"remove it or send {json.dumps(default)}, its default"
            raise NotSupported(
                f"{field} is not supported by Sfumato yet ({feature}); {allowed}", f"{UNIVERSAL_ARGS_PATH}.{field}"
            )
    multiplier = UNIVERSAL_MULTIPLIER_DEFAULT if body.upscaleMultiplier is None else float(body.upscaleMultiplier)
    if not UNIVERSAL_MULTIPLIER_MIN <= multiplier <= UNIVERSAL_MULTIPLIER_MAX:
        raise ClientError(
            f"upscaleMultiplier must be between {UNIVERSAL_MULTIPLIER_MIN:g} and {UNIVERSAL_MULTIPLIER_MAX:g}, "
            f"got {multiplier:g}",
            f"{UNIVERSAL_ARGS_PATH}.upscaleMultiplier",
        )
    return VariationRequest(TransformType.UPSCALE, _universal_source(body), multiplier=multiplier, universal=True)


def _universal_source(body: UniversalUpscalerBody) -> VariationSource:
    """The one picture the body names: a generated image or a variation (an upload is refused)."""
    if body.initImageId is not None:
        raise NotSupported(
            "initImageId is not supported by Sfumato yet (upscaling an uploaded image); "
            "upscale a generated image (generatedImageId) or a variation (variationId)",
            f"{UNIVERSAL_ARGS_PATH}.initImageId",
        )
    if body.generatedImageId is not None and body.variationId is not None:
        raise ClientError(
            "send one image to upscale: generatedImageId or variationId, not both", f"{UNIVERSAL_ARGS_PATH}.variationId"
        )
    if body.variationId is not None:
        return VariationSource(body.variationId, is_variation=True, field=f"{UNIVERSAL_ARGS_PATH}.variationId")
    if body.generatedImageId is None:
        raise ClientError(
            "send the image to upscale: generatedImageId (a generated image) or variationId (a variation)",
            f"{UNIVERSAL_ARGS_PATH}.generatedImageId",
        )
    return VariationSource(body.generatedImageId, is_variation=False, field=f"{UNIVERSAL_ARGS_PATH}.generatedImageId")
