"""`POST /api/rest/v2/generations` body: `{model, public, parameters}`, strict as v1's.

An unknown key, top-level or under `parameters` (or deeper), is `Unexpected variable <key>`: Leonardo's
v2 reference says unknown `parameters` keys are rejected, not ignored. Types are checked here; which
keys and values a slug takes is `sfumato.domain.v2_rules`' (values are plain strings here, so
their refusals can list what the slug allows).
"""

from __future__ import annotations

from typing import Any

from pydantic import StrictBool

from sfumato.domain.v2_rules import V2Guide, V2Image, V2Request
from sfumato.wire.generation_response import cost_to_wire
from sfumato.wire.types import Int, StrictBody, Text, validated_body


class ImageInput(StrictBody):
    type: Text
    id: Text | None = None
    url: Text | None = None
    data: Text | None = None
    width: Int | None = None
    height: Int | None = None


class GuidanceInput(StrictBody):
    image: ImageInput
    strength: Text | None = None
    order: Int | None = None


class GuidancesInput(StrictBody):
    image_reference: list[GuidanceInput] | None = None
    style: list[GuidanceInput] | None = None
    content: list[GuidanceInput] | None = None
    character: list[GuidanceInput] | None = None
    image_to_image: list[GuidanceInput] | None = None


class ParametersInput(StrictBody):
    """Every key any image slug's guide lists; which a slug takes is checked against its rules."""

    prompt: Text
    width: Int | None = None
    height: Int | None = None
    quantity: Int | None = None
    seed: Int | None = None
    style_ids: list[Text] | None = None
    prompt_enhance: Text | None = None
    guidances: GuidancesInput | None = None
    quality: Text | None = None
    mode: Text | None = None
    contrast: Text | None = None
    negative_prompt: Text | None = None
    tiling: StrictBool | None = None


class CreateV2GenerationBody(StrictBody):
    model: Text
    public: StrictBool | None = None
    parameters: ParametersInput


def parse_v2_generation(payload: Any) -> V2Request:
    """Validate a decoded JSON body; raises a Leonardo-shaped ClientError naming the field."""
    body = validated_body(CreateV2GenerationBody, payload, "$")
    params = body.parameters
    guides: list[V2Guide] = []
    for kind in GuidancesInput.model_fields:
        entries: list[GuidanceInput] = getattr(params.guidances, kind) or [] if params.guidances else []
        for index, entry in enumerate(entries):
            image = V2Image(entry.image.type, entry.image.id, entry.image.url, entry.image.data)
            guides.append(V2Guide(kind, image, entry.strength, f"guidances.{kind}[{index}]", entry.order))
    sent = frozenset(name for name in ParametersInput.model_fields if getattr(params, name) is not None)
    return V2Request(
        slug=body.model,
        prompt=params.prompt,
        public=body.public,
        width=params.width,
        height=params.height,
        quantity=params.quantity,
        seed=params.seed,
        style_ids=None if params.style_ids is None else tuple(params.style_ids),
        prompt_enhance=params.prompt_enhance,
        guides=tuple(guides),
        quality=params.quality,
        mode=params.mode,
        contrast=params.contrast,
        negative_prompt=params.negative_prompt,
        tiling=params.tiling,
        sent=sent,
    )


def v2_generation_job(generation_id: str, credit_cost: int) -> dict[str, Any]:
    """The v2 answer, as every v2 client reads it: `generate.generationId`, then v1's GET."""
    job = {"generationId": generation_id, "apiCreditCost": credit_cost, "cost": cost_to_wire(credit_cost)}
    return {"generate": job}
