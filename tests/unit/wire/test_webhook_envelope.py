"""Leonardo's `image_generation.complete` envelope from read models."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from sfumato.catalog import TINY_MODEL_ID, ModelCatalog
from sfumato.domain.status import GenerationStatus
from sfumato.wire.webhook_envelope import generation_envelope, serialize
from tests.unit.wire import samples

# Property names of leonardo-webhooks.asyncapi.yml's schemas, copied verbatim.
ENVELOPE_KEYS = "type object timestamp api_version data"
GENERATION_KEYS = (
    "id createdAt updatedAt userId public flagged nsfw status coreModel guidanceScale imageHeight imageWidth "
    "inferenceSteps initGeneratedImageId initImageId initStrength initType initUpscaledImageId modelId "
    "negativePrompt prompt quantity sdVersion tiling imageAspectRatio tokenCost negativeStylePrompt seed scheduler "
    "presetStyle promptMagic canvasInitImageId canvasMaskImageId canvasRequest api poseImage2Image "
    "imagePromptStrength category poseImage2ImageType highContrast apiDollarCost poseImage2ImageWeight alchemy "
    "contrastRatio highResolution expandedDomain promptMagicVersion unzoom unzoomAmount apiKeyId photoReal "
    "promptMagicStrength photoRealStrength imageToImage controlnetsUsed model images apiKey"
)
MODEL_KEYS = (
    "id createdAt updatedAt name description public userId flagged nsfw official status classPrompt coreModel "
    "initDatasetId instancePrompt sdVersion trainingEpoch trainingSteps tokenCost batchSize learningRate type "
    "modelHeight modelWidth leonardoInstancePrompt trainingStrength featured featuredImageId featuredPosition api "
    "favouriteCount imageCount enhancedModeration apiDollarCost apiKeyId modelLRN"
)
IMAGE_KEYS = "id createdAt updatedAt userId url generationId nobgId nsfw likeCount trendingScore public"
API_KEY_KEYS = "id createdAt userId key lastUsed name type webhookCallbackUrl webhookCallbackApiKey"
# Beyond the asyncapi schema: Sfumato's failureReason, and keys unofficial typed clients expect.
EXTRA_GENERATION_KEYS = {"failureReason"}
EXTRA_IMAGE_KEYS = {"motionGIFURL", "motionMP4URL", "teamId"}


def build(status: GenerationStatus = GenerationStatus.COMPLETE) -> dict[str, Any]:
    model = ModelCatalog.load().get(TINY_MODEL_ID)
    envelope = generation_envelope(
        samples.generation(status), samples.webhook_owner(), model, samples.url_for, datetime(2023, 11, 9, 0, 42, 26)
    )
    return dict(json.loads(serialize(envelope)))


def test_envelope_has_every_asyncapi_key_and_leonardo_types() -> None:
    body = build()
    assert set(body) == set(ENVELOPE_KEYS.split())
    assert (body["type"], body["object"], body["api_version"]) == ("image_generation.complete", "generation", "v1")
    assert body["timestamp"] == 1699490546000 and isinstance(body["timestamp"], int)
    generation = body["data"]["object"]
    assert set(generation) == set(GENERATION_KEYS.split()) | EXTRA_GENERATION_KEYS
    assert set(generation["model"]) == set(MODEL_KEYS.split())
    assert set(generation["apiKey"]) == set(API_KEY_KEYS.split())
    assert [set(image) for image in generation["images"]] == [set(IMAGE_KEYS.split()) | EXTRA_IMAGE_KEYS]
    assert generation["seed"] == "905778432"
    assert generation["createdAt"] == "2023-11-09T00:42:22.707Z"
    assert generation["images"][0]["createdAt"].endswith("Z")
    assert generation["images"][0]["url"] == "http://h:1/files/users/u-1/x.png"
    assert generation["status"] == "COMPLETE"
    assert generation["apiKeyId"] == generation["apiKey"]["id"] == "k-1"
    assert generation["apiKey"]["webhookCallbackApiKey"] == "abcd"


def test_failed_envelope_has_no_images() -> None:
    generation = build(GenerationStatus.FAILED)["data"]["object"]
    assert generation["status"] == "FAILED" and generation["images"] == []


def test_envelope_echoes_the_generations_tiling() -> None:
    model = ModelCatalog.load().get(TINY_MODEL_ID)
    for tiling in (False, True):
        view = replace(samples.generation(), tiling=tiling)
        envelope = generation_envelope(view, samples.webhook_owner(), model, samples.url_for, samples.MOMENT)
        assert json.loads(serialize(envelope))["data"]["object"]["tiling"] is tiling
