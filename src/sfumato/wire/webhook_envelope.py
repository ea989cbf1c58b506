"""Leonardo's webhook body: the `image_generation.complete` envelope (behaviour doc §4,
`leonardo-webhooks.asyncapi.yml`).

It differs from the GET shape on purpose: `seed` is a string, timestamps end in `Z`,
`timestamp` is epoch milliseconds, and the key that owns the webhook is echoed under
`apiKey`. Every key of the asyncapi payload is present (null where Sfumato has no value).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sfumato.catalog import CatalogEntry
from sfumato.domain.status import GenerationStatus
from sfumato.domain.views import GenerationView, ImageView, WebhookOwner
from sfumato.wire.generation_response import UrlFor

EVENT_GENERATION_COMPLETE = "image_generation.complete"


def webhook_timestamp(moment: datetime) -> str:
    """`2023-11-09T00:42:22.707Z`: milliseconds and a Z (the webhook's format, unlike GET's)."""
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def epoch_ms(moment: datetime) -> int:
    """Naive UTC (what the columns hold) to Unix milliseconds."""
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def _model(entry: CatalogEntry | None, model_id: str | None, generation: GenerationView) -> dict[str, Any]:
    width = entry.face.native_width if entry else generation.width
    height = entry.face.native_height if entry else generation.height
    return {
        "id": model_id, "createdAt": None, "updatedAt": None,
        "name": entry.name if entry else None, "description": entry.face.description if entry else None,
        "public": True, "userId": None, "flagged": False, "nsfw": bool(entry and entry.face.nsfw), "official": True,
        "status": "COMPLETE", "classPrompt": None, "coreModel": "SD", "initDatasetId": None, "instancePrompt": None,
        "sdVersion": entry.face.sd_version if entry else generation.sd_version, "trainingEpoch": None,
        "trainingSteps": None, "tokenCost": None, "batchSize": 4, "learningRate": None, "type": "GENERAL",
        "modelHeight": height, "modelWidth": width, "leonardoInstancePrompt": None, "trainingStrength": "MEDIUM",
        "featured": bool(entry and entry.face.featured), "featuredImageId": None, "featuredPosition": None,
        "api": False, "favouriteCount": 0, "imageCount": 0, "enhancedModeration": False, "apiDollarCost": None,
        "apiKeyId": None, "modelLRN": None,
    }  # fmt: skip


def _image(image: ImageView, generation: GenerationView, url_for: UrlFor) -> dict[str, Any]:
    return {
        "id": image.id,
        "createdAt": webhook_timestamp(image.created_at),
        "updatedAt": webhook_timestamp(image.created_at),
        "userId": generation.user_id,
        "url": url_for(image.blob_key),
        "generationId": generation.id,
        "nobgId": None,
        "nsfw": image.nsfw,
        "likeCount": 0,
        "trendingScore": 0,
        "public": generation.public,
        # Not in the guide's sample; an unofficial typed client expects them (null allowed).
        "motionGIFURL": None,
        "motionMP4URL": None,
        "teamId": None,
    }


def _api_key(key: WebhookOwner) -> dict[str, Any]:
    return {
        "id": key.key_id,
        "createdAt": webhook_timestamp(key.created_at),
        "userId": key.user_id,
        "key": None,  # Leonardo echoes the key; Sfumato keeps only its hash, so it cannot.
        "lastUsed": None,
        "name": key.name,
        "type": "PRODUCTION",
        "webhookCallbackUrl": key.webhook_url,
        "webhookCallbackApiKey": key.webhook_api_key,
    }


def generation_envelope(
    generation: GenerationView,
    key: WebhookOwner,
    model: CatalogEntry | None,
    url_for: UrlFor,
    now: datetime,
) -> dict[str, Any]:
    """The whole webhook body for a COMPLETE or FAILED generation."""
    complete = generation.status == GenerationStatus.COMPLETE
    obj: dict[str, Any] = {
        "id": generation.id,
        "createdAt": webhook_timestamp(generation.created_at),
        "updatedAt": webhook_timestamp(generation.updated_at),
        "userId": generation.user_id,
        "public": generation.public,
        "flagged": False,
        "nsfw": any(image.nsfw for image in generation.images),  # a flagged picture flags its generation
        "status": generation.status,
        "coreModel": "SD",
        "guidanceScale": generation.guidance_scale,
        "imageHeight": generation.height,
        "imageWidth": generation.width,
        "inferenceSteps": generation.inference_steps,
        "initGeneratedImageId": None,
        "initImageId": None,
        "initStrength": None,
        "initType": None,
        "initUpscaledImageId": None,
        "modelId": generation.model_id,
        "negativePrompt": generation.negative_prompt,
        "prompt": generation.prompt,
        "quantity": generation.num_images,
        "sdVersion": generation.sd_version,
        "tiling": generation.tiling,
        "imageAspectRatio": None,
        "tokenCost": 0,
        "negativeStylePrompt": "",
        "seed": str(generation.seed),
        "scheduler": generation.scheduler,
        "presetStyle": generation.preset_style,
        "promptMagic": generation.finishing.prompt_magic,
        "canvasInitImageId": None,
        "canvasMaskImageId": None,
        "canvasRequest": False,
        "api": True,
        "poseImage2Image": False,
        "imagePromptStrength": None,
        "category": None,
        "poseImage2ImageType": None,
        "highContrast": bool(generation.finishing.high_contrast),
        "apiDollarCost": str(generation.credit_cost),
        "poseImage2ImageWeight": None,
        "alchemy": generation.alchemy,
        "contrastRatio": generation.finishing.contrast_ratio,
        "highResolution": generation.finishing.high_resolution,
        "expandedDomain": None,
        "promptMagicVersion": generation.finishing.prompt_magic_version,
        "unzoom": None,
        "unzoomAmount": None,
        "apiKeyId": key.key_id,
        "photoReal": generation.finishing.photo_real,
        "promptMagicStrength": generation.finishing.prompt_magic_strength,
        "photoRealStrength": generation.finishing.photo_real_strength,
        "imageToImage": False,
        "controlnetsUsed": False,
        "model": _model(model, generation.model_id, generation),
        "images": [_image(i, generation, url_for) for i in generation.images] if complete else [],
        "apiKey": _api_key(key),
        # Sfumato's addition, as on GET: why a FAILED generation failed (null otherwise).
        "failureReason": generation.failure_reason,
    }
    return {
        "type": EVENT_GENERATION_COMPLETE,
        "object": "generation",
        "timestamp": epoch_ms(now),
        "api_version": "v1",
        "data": {"object": obj},
    }


def serialize(envelope: dict[str, Any]) -> str:
    """The body text, made once and stored: every re-send is byte-identical."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)
