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
from sfumato.store.tables import GeneratedImage, Generation

UrlFor = Callable[[str], str]
"""Turns a stored blob key into the absolute URL a client downloads it from."""


def leonardo_timestamp(moment: datetime) -> str:
    """`2023-11-25T20:49:08.035`: milliseconds, no zone (Leonardo's GET format)."""
    return moment.isoformat(timespec="milliseconds")


def image_to_wire(image: GeneratedImage, url_for: UrlFor) -> dict[str, Any]:
    return {
        "generated_image_variation_generics": [],
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


def generation_to_wire(generation: Generation, url_for: UrlFor) -> dict[str, Any]:
    complete = generation.status == GenerationStatus.COMPLETE
    return {
        "createdAt": leonardo_timestamp(generation.created_at),
        "generated_images": [image_to_wire(i, url_for) for i in generation.images] if complete else [],
        "generation_elements": [],
        "guidanceScale": generation.guidance_scale,
        "id": generation.id,
        "imageHeight": generation.height,
        "imageWidth": generation.width,
        "inferenceSteps": generation.inference_steps,
        "initStrength": None,
        "modelId": generation.model_id,
        "negativePrompt": generation.negative_prompt,
        "photoReal": False,
        "photoRealStrength": None,
        "presetStyle": generation.preset_style,
        "prompt": generation.prompt,
        "promptMagic": False,
        "promptMagicStrength": None,
        "promptMagicVersion": None,
        "public": generation.public,
        "scheduler": generation.scheduler,
        "sdVersion": generation.sd_version,
        "seed": generation.seed,
        "status": generation.status,
        "ultra": False,
        # Not in the spec; unofficial typed clients expect these keys (null allowed).
        "motion": None,
        "motionModel": None,
        "motionStrength": None,
        "imageToVideo": None,
        # Sfumato's addition: why a FAILED generation failed (null otherwise).
        "failureReason": generation.failure_reason,
    }
