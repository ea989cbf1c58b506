"""Generations as Leonardo's JSON: every spec key present, types and enums exact.

Rules (behaviour doc §9-10): integers stay integers; the never-null keys always carry a
value; `generated_images` is empty until the generation is COMPLETE, then holds every image
at once; `createdAt` has no time zone, as Leonardo's GET answers show.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sfumato.domain.status import GenerationStatus
from sfumato.domain.views import GenerationView, ImageView, VariationView
from sfumato.wire.element_response import generation_elements

UrlFor = Callable[[str], str]
"""Turns a stored blob key into the absolute URL a client downloads it from."""


def leonardo_timestamp(moment: datetime) -> str:
    """`2023-11-25T20:49:08.035`: milliseconds, no zone (Leonardo's GET format)."""
    return moment.isoformat(timespec="milliseconds")


def variation_generic(variation: VariationView, url_for: UrlFor) -> dict[str, Any]:
    """One of an image's `generated_image_variation_generics`: `status` and `transformType` from
    Leonardo's closed enums, never null; `url` null until the variation is COMPLETE."""
    key = variation.blob_key if variation.status == GenerationStatus.COMPLETE else None
    return {
        "id": variation.id,
        "status": variation.status,
        "transformType": variation.transform_type,
        "url": url_for(key) if key is not None else None,
    }


def image_to_wire(image: ImageView, url_for: UrlFor) -> dict[str, Any]:
    return {
        "generated_image_variation_generics": [variation_generic(v, url_for) for v in image.variations],
        "fantasyAvatar": None,
        "id": image.id,
        "imageToVideo": None,
        "likeCount": 0,
        "motion": None,
        "motionModel": None,
        "motionMP4URL": None,
        "motionStrength": None,
        "nsfw": image.nsfw,
        "url": url_for(image.blob_key),
    }


def generation_to_wire(generation: GenerationView, url_for: UrlFor) -> dict[str, Any]:
    complete = generation.status == GenerationStatus.COMPLETE
    return {
        "createdAt": leonardo_timestamp(generation.created_at),
        "generated_images": [image_to_wire(i, url_for) for i in generation.images] if complete else [],
        "generation_elements": generation_elements(generation.id, generation.elements),
        "guidanceScale": generation.guidance_scale,
        "id": generation.id,
        "imageHeight": generation.height,
        "imageWidth": generation.width,
        "inferenceSteps": generation.inference_steps,
        "initStrength": generation.init_strength,
        "modelId": generation.model_id,
        "negativePrompt": generation.negative_prompt,
        "photoReal": generation.finishing.photo_real,
        "photoRealStrength": generation.finishing.photo_real_strength,
        "presetStyle": generation.preset_style,
        "prompt": generation.prompt,
        "promptMagic": generation.finishing.prompt_magic,
        "promptMagicStrength": generation.finishing.prompt_magic_strength,
        "promptMagicVersion": generation.finishing.prompt_magic_version,
        "public": generation.public,
        "scheduler": generation.scheduler,
        "sdVersion": generation.sd_version,
        "seed": generation.seed,
        "status": generation.status,
        "ultra": generation.finishing.ultra,
        # Not in the spec; unofficial typed clients expect these keys (null allowed).
        "motion": None,
        "motionModel": None,
        "motionStrength": None,
        "imageToVideo": None,
        # Sfumato's addition: why a FAILED generation failed (null otherwise).
        "failureReason": generation.failure_reason,
    }


def generation_by_pk(generation: GenerationView | None, url_for: UrlFor) -> dict[str, Any]:
    """`GET /generations/{id}`: null for an unknown id (or someone else's)."""
    return {"generations_by_pk": generation_to_wire(generation, url_for) if generation else None}


def generations_by_user(generations: list[GenerationView], url_for: UrlFor) -> dict[str, Any]:
    return {"generations": [generation_to_wire(generation, url_for) for generation in generations]}


def generation_job(generation_id: str, credit_cost: int) -> dict[str, Any]:
    """`POST /generations`' answer: the new id and what it costs, in credits."""
    job = {"generationId": generation_id, "apiCreditCost": credit_cost, "cost": cost_to_wire(credit_cost)}
    return {"sdGenerationJob": job}


def cost_to_wire(credits: int) -> dict[str, Any]:
    """A create answer's `cost`: the amount as a string, in credits."""
    return {"amount": str(credits), "unit": "CREDITS"}


def deleted_generation(generation_id: str | None) -> dict[str, Any]:
    """`DELETE /generations/{id}`: the id when a generation was deleted, else null."""
    return {"delete_generations_by_pk": {"id": generation_id} if generation_id else None}
