"""`enhancePrompt` fields, the `/prompt/*` bodies and the pricing calculator's body."""

from __future__ import annotations

import pytest

from sfumato.domain.pricing import GenerationQuote, UpscalerQuote
from sfumato.errors import BadRequest, ClientError, ValidationFailed
from sfumato.wire.generation_request import parse_create_generation
from sfumato.wire.pricing_request import PRICING_ARGS_PATH, parse_pricing_calculator
from sfumato.wire.prompts import parse_prompt_improve, parse_prompt_random, prompt_generation

ARGS = "$.selectionSet.sdGenerationJob.args.arg1"


def test_enhance_prompt_and_its_instruction_reach_the_request() -> None:
    request = parse_create_generation({"prompt": "x", "enhancePrompt": True, "enhancePromptInstruction": "wintry"})
    assert request.enhance_prompt is True and request.enhance_prompt_instruction == "wintry"


def test_an_instruction_without_enhance_prompt_is_refused_by_name() -> None:
    for enhance in (None, False):
        with pytest.raises(ClientError, match="applies with enhancePrompt: true") as raised:
            parse_create_generation({"prompt": "x", "enhancePrompt": enhance, "enhancePromptInstruction": "w"})
        assert raised.value.path == f"{ARGS}.enhancePromptInstruction"


def test_improve_body_takes_the_sdk_names_strictly() -> None:
    request = parse_prompt_improve({"prompt": "a fox", "isVideo": True, "promptInstructions": "moody"})
    assert (request.prompt, request.instruction, request.video) == ("a fox", "moody", True)
    with pytest.raises(BadRequest, match="Unexpected variable instruction"):
        parse_prompt_improve({"prompt": "a fox", "instruction": "moody"})
    with pytest.raises(ValidationFailed, match='"prompt"'):
        parse_prompt_improve({})
    with pytest.raises(ClientError, match="maximum length of 1500"):
        parse_prompt_improve({"prompt": "x" * 1501})
    with pytest.raises(ClientError, match="must not be empty"):
        parse_prompt_improve({"prompt": " \u200b "})


def test_random_takes_no_body_or_an_empty_one() -> None:
    parse_prompt_random(None)
    parse_prompt_random({})
    with pytest.raises(BadRequest):
        parse_prompt_random({"prompt": "x"})


def test_prompt_answer_has_the_sdk_shape() -> None:
    assert prompt_generation("p", 4) == {
        "promptGeneration": {"prompt": "p", "apiCreditCost": 4, "cost": {"amount": "4", "unit": "CREDITS"}}
    }


def test_image_generation_query_takes_the_generation_defaults_and_its_fields() -> None:
    assert parse_pricing_calculator({"service": "IMAGE_GENERATION"}) == GenerationQuote(1024, 768, 4, alchemy=True)
    body = {"service": "IMAGE_GENERATION", "serviceParams": {"IMAGE_GENERATION": {
        "imageWidth": 512.0, "imageHeight": 512, "numImages": 2, "alchemyMode": False, "loraCount": 2,
        "controlnetsCost": 3, "isSDXL": True, "inferenceSteps": 30}}}  # fmt: skip
    assert parse_pricing_calculator(body) == GenerationQuote(512, 512, 2, False, elements=2, guides_cost=3)


def test_upscaler_query_and_the_refusals() -> None:
    query = {"service": "UNIVERSAL_UPSCALER", "serviceParams": {"UNIVERSAL_UPSCALER": {"megapixel": 3}}}
    assert parse_pricing_calculator(query) == UpscalerQuote(3.0)
    with pytest.raises(ClientError, match="video generation") as raised:
        parse_pricing_calculator({"service": "MOTION_VIDEO_GENERATION"})
    assert raised.value.path == f"{PRICING_ARGS_PATH}.service"
    with pytest.raises(ClientError, match="does not apply to service IMAGE_GENERATION"):
        parse_pricing_calculator({"service": "IMAGE_GENERATION", "serviceParams": {"UNIVERSAL_UPSCALER": {}}})
    with pytest.raises(ClientError, match="imageWidth must be between 32 and 1536"):
        parse_pricing_calculator({"service": "IMAGE_GENERATION",
                                  "serviceParams": {"IMAGE_GENERATION": {"imageWidth": 4096}}})  # fmt: skip
    with pytest.raises(ValidationFailed, match="pricingCalculatorServices"):
        parse_pricing_calculator({"service": "PAINTING"})
    with pytest.raises(BadRequest, match="Unexpected variable isSDXL2"):
        parse_pricing_calculator({"service": "IMAGE_GENERATION", "serviceParams": {"IMAGE_GENERATION": {"isSDXL2": 1}}})


def _image(**params: object) -> dict[str, object]:
    size = {"imageWidth": 512, "imageHeight": 512}
    return {"service": "IMAGE_GENERATION", "serviceParams": {"IMAGE_GENERATION": {**size, **params}}}


def test_finishing_knobs_quote_the_second_pass_the_generation_would_draw() -> None:
    assert parse_pricing_calculator(_image(highResolution=True)).second_pass == (768, 768)  # type: ignore[union-attr]
    assert parse_pricing_calculator(_image(isUltra=True)).second_pass == (1024, 1024)  # type: ignore[union-attr]
    refine = parse_pricing_calculator(_image(photoRealMode=True, photoRealVersion="v2", isSDXL=True))
    assert refine.second_pass == (512, 512)  # type: ignore[union-attr]
    assert parse_pricing_calculator(_image(highResolution=False)).second_pass is None  # type: ignore[union-attr]
    with pytest.raises(ClientError, match="PhotoReal v2 needs alchemy") as raised:
        parse_pricing_calculator(_image(photoRealMode=True, alchemyMode=False, isSDXL=True))
    assert raised.value.path == f"{PRICING_ARGS_PATH}.serviceParams.IMAGE_GENERATION"
