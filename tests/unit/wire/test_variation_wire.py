"""`/variations/...` bodies and answers: Leonardo's names and shapes, the SDKs' defaults accepted,
what Sfumato cannot honour refused by name."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from sfumato.domain.status import GenerationStatus
from sfumato.domain.variations import TransformType, VariationRequest, VariationSource
from sfumato.domain.views import VariationView
from sfumato.errors import BadRequest, ClientError, NotSupported, ValidationFailed
from sfumato.wire.generation_response import generation_by_pk
from sfumato.wire.variation_request import (
    UNIVERSAL_ARGS_PATH,
    UPSCALE_ARGS_PATH,
    parse_nobg,
    parse_universal_upscaler,
    parse_unzoom,
    parse_upscale,
)
from sfumato.wire.variation_response import NOBG_JOB, UPSCALE_JOB, variation_by_id, variation_job
from tests.unit.wire import samples

IMAGE_ID = "11111111-2222-4333-8444-555555555555"


def _variation(status: GenerationStatus, blob_key: str | None, reason: str | None = None) -> VariationView:
    return VariationView(
        id="v-1", user_id="u-1", generated_image_id="i-1", transform_type=TransformType.NOBG, status=status,
        failure_reason=reason, blob_key=blob_key, credit_cost=5, created_at=samples.MOMENT,
    )  # fmt: skip


def test_upscale_nobg_and_unzoom_name_a_generated_image_or_a_variation() -> None:
    assert parse_upscale({"id": IMAGE_ID}) == VariationRequest(
        TransformType.UPSCALE, VariationSource(IMAGE_ID, False, f"{UPSCALE_ARGS_PATH}.id"), multiplier=2.0
    )
    nobg = parse_nobg({"id": IMAGE_ID, "isVariation": True})
    assert nobg.transform is TransformType.NOBG and nobg.source.is_variation
    unzoom = parse_unzoom({"id": IMAGE_ID, "isVariation": None})  # the SDK's null means absent
    assert unzoom.transform is TransformType.UNZOOM and not unzoom.source.is_variation


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        (None, ClientError, "the request body must be a JSON object"),
        ([], ClientError, "the request body must be a JSON object"),
        ({}, ValidationFailed, 'expecting a value for non-nullable variable: "id"'),
        ({"id": 7}, ValidationFailed, "expected a string for type 'String', but found a number"),
        ({"id": IMAGE_ID, "isVariation": True}, BadRequest, "Unexpected variable isVariation"),  # upscale takes none
    ],
)
def test_a_bad_upscale_body_is_a_leonardo_400(payload: Any, error: type[ClientError], message: str) -> None:
    with pytest.raises(error) as raised:
        parse_upscale(payload)
    assert raised.value.message == message and raised.value.status == 400


def test_isvariation_is_a_strict_boolean() -> None:
    with pytest.raises(ValidationFailed, match="expected a boolean"):
        parse_nobg({"id": IMAGE_ID, "isVariation": "true"})


def test_the_universal_upscaler_takes_the_sdk_defaults_and_honours_the_multiplier() -> None:
    # What the Python SDK puts on the wire for `create_universal_upscaler_job(generated_image_id=...)`.
    sent = {"creativityStrength": 5, "upscaleMultiplier": 1.5, "upscalerStyle": "GENERAL", "generatedImageId": IMAGE_ID}
    request = parse_universal_upscaler(sent)
    assert request.transform is TransformType.UPSCALE and request.universal
    assert request.multiplier == 1.5 and request.source == VariationSource(
        IMAGE_ID, False, f"{UNIVERSAL_ARGS_PATH}.generatedImageId"
    )
    assert parse_universal_upscaler({"variationId": IMAGE_ID, "upscaleMultiplier": 2}).source.is_variation
    assert parse_universal_upscaler({"generatedImageId": IMAGE_ID, "prompt": None}).multiplier == 1.5


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"creativityStrength": 8}, "creativityStrength"),
        ({"upscalerStyle": "CINEMATIC"}, "upscalerStyle"),
        ({"ultraUpscaleStyle": "ARTISTIC"}, "ultraUpscaleStyle"),
        ({"similarity": 3}, "similarity"),
        ({"detailContrast": 3}, "detailContrast"),
        ({"prompt": "sharper"}, "prompt"),
        ({"initImageId": IMAGE_ID}, "initImageId"),
    ],
)
def test_the_universal_upscaler_refuses_by_name_what_it_cannot_honour(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(NotSupported) as raised:
        parse_universal_upscaler({"generatedImageId": IMAGE_ID, **extra})
    assert raised.value.path == f"{UNIVERSAL_ARGS_PATH}.{field}" and field in raised.value.message


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"generatedImageId": IMAGE_ID, "upscaleMultiplier": 2.5}, "upscaleMultiplier", "between 1 and 2, got 2.5"),
        ({"generatedImageId": IMAGE_ID, "upscaleMultiplier": 0.5}, "upscaleMultiplier", "between 1 and 2, got 0.5"),
        ({"upscaleMultiplier": 2}, "generatedImageId", "send the image to upscale"),
        ({"generatedImageId": IMAGE_ID, "variationId": IMAGE_ID}, "variationId", "not both"),
    ],
)
def test_the_universal_upscaler_needs_one_source_and_a_multiplier_in_range(
    payload: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ClientError) as raised:
        parse_universal_upscaler(payload)
    assert raised.value.path == f"{UNIVERSAL_ARGS_PATH}.{field}" and message in raised.value.message


def test_an_unknown_style_lists_leonardos_values() -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_universal_upscaler({"generatedImageId": IMAGE_ID, "upscalerStyle": "FANCY"})
    assert "universal_upscaler_style" in raised.value.message and "CG ART & GAME ASSETS" in raised.value.message


def test_create_answers_are_shaped_like_the_generation_answer() -> None:
    assert variation_job(UPSCALE_JOB, "v-1", 15) == {
        "sdUpscaleJob": {"id": "v-1", "apiCreditCost": 15, "cost": {"amount": "15", "unit": "CREDITS"}}
    }
    assert list(variation_job(NOBG_JOB, "v-2", 5)) == ["sdNobgJob"]


def test_get_variation_lists_it_with_a_url_once_complete() -> None:
    done = variation_by_id(_variation(GenerationStatus.COMPLETE, "users/u-1/v.png"), samples.url_for)
    [item] = done["generated_image_variation_generic"]
    assert item == {
        "id": "v-1", "status": "COMPLETE", "transformType": "NOBG", "url": "http://h:1/files/users/u-1/v.png",
        "createdAt": "2023-11-09T00:42:22.707", "failureReason": None,
    }  # fmt: skip
    [pending] = variation_by_id(_variation(GenerationStatus.PENDING, None), samples.url_for)[
        "generated_image_variation_generic"
    ]
    assert pending["status"] == "PENDING" and pending["url"] is None
    [failed] = variation_by_id(_variation(GenerationStatus.FAILED, None, "disk full"), samples.url_for)[
        "generated_image_variation_generic"
    ]
    assert failed["url"] is None and failed["failureReason"] == "disk full"
    assert variation_by_id(None, samples.url_for) == {"generated_image_variation_generic": []}


def test_each_generated_image_lists_its_variations() -> None:
    variations = (_variation(GenerationStatus.COMPLETE, "users/u-1/v.png"), _variation(GenerationStatus.PENDING, None))
    view = replace(samples.generation(), images=(replace(samples.generation().images[0], variations=variations),))
    [wire_image] = generation_by_pk(view, samples.url_for)["generations_by_pk"]["generated_images"]
    assert wire_image["generated_image_variation_generics"] == [
        {"id": "v-1", "status": "COMPLETE", "transformType": "NOBG", "url": "http://h:1/files/users/u-1/v.png"},
        {"id": "v-1", "status": "PENDING", "transformType": "NOBG", "url": None},
    ]
