"""`GET /generations/...`, `POST` and `DELETE` answers from read models: Leonardo's keys, exactly."""

from __future__ import annotations

from sfumato.domain.status import GenerationStatus
from sfumato.wire.generation_response import (
    deleted_generation,
    generation_by_pk,
    generation_job,
    generations_by_user,
)
from tests.unit.wire import samples

GENERATION_KEYS = (
    "createdAt generated_images generation_elements guidanceScale id imageHeight imageWidth inferenceSteps "
    "initStrength modelId negativePrompt photoReal photoRealStrength presetStyle prompt promptMagic "
    "promptMagicStrength promptMagicVersion public scheduler sdVersion seed status ultra motion motionModel "
    "motionStrength imageToVideo failureReason"
)
IMAGE_KEYS = (
    "generated_image_variation_generics fantasyAvatar id imageToVideo likeCount motion motionModel motionMP4URL "
    "motionStrength nsfw url"
)


def test_a_complete_generation_has_every_key_and_leonardo_types() -> None:
    body = generation_by_pk(samples.generation(), samples.url_for)
    generation = body["generations_by_pk"]
    assert list(body) == ["generations_by_pk"]
    assert set(generation) == set(GENERATION_KEYS.split())
    assert generation["createdAt"] == "2023-11-09T00:42:22.707"  # no zone, as Leonardo's GET
    assert generation["seed"] == 905778432 and generation["imageWidth"] == 64 and generation["guidanceScale"] == 7.0
    assert generation["status"] == "COMPLETE" and generation["failureReason"] is None
    (image,) = generation["generated_images"]
    assert set(image) == set(IMAGE_KEYS.split())
    assert image["id"] == "i-1" and image["url"] == "http://h:1/files/users/u-1/x.png"


def test_images_show_only_once_complete_and_a_failure_says_why() -> None:
    pending = generation_by_pk(samples.generation(GenerationStatus.PENDING), samples.url_for)["generations_by_pk"]
    failed_view = samples.generation(GenerationStatus.FAILED, "out of memory")
    failed = generation_by_pk(failed_view, samples.url_for)["generations_by_pk"]
    assert pending["generated_images"] == [] and pending["status"] == "PENDING"
    assert failed["generated_images"] == [] and failed["failureReason"] == "out of memory"


def test_unknown_generation_is_null_and_a_list_keeps_its_order() -> None:
    assert generation_by_pk(None, samples.url_for) == {"generations_by_pk": None}
    views = [samples.generation(), samples.generation(GenerationStatus.PENDING)]
    listed = generations_by_user(views, samples.url_for)["generations"]
    assert [g["status"] for g in listed] == ["COMPLETE", "PENDING"]
    assert generations_by_user([], samples.url_for) == {"generations": []}


def test_create_and_delete_answers() -> None:
    assert generation_job("g-1", 12) == {
        "sdGenerationJob": {"generationId": "g-1", "apiCreditCost": 12, "cost": {"amount": "12", "unit": "CREDITS"}}
    }
    assert deleted_generation("g-1") == {"delete_generations_by_pk": {"id": "g-1"}}
    assert deleted_generation(None) == {"delete_generations_by_pk": None}
