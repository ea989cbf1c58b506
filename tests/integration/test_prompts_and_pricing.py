"""Prompt help, NSFW flags and the pricing calculator, through the official Python SDK.

One server here is set up with an LLM (a fake OpenAI-compatible server on loopback) and a catalog
whose safety checker flags every image (the built-in tiny classifier at threshold 0); the session
server has neither: there the prompt features are refused and no image is flagged.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from leonardo_ai_sdk import LeonardoAiSDK
from leonardo_ai_sdk.models import errors
from PIL import Image

from tests.conftest import Server, tiny_request, wait_for_generation
from tests.support.fake_llm import FakeLlm, marked

pytestmark = pytest.mark.both_modes

SAFETY_CATALOG = """
[[safety_checker]]
id = "flag-everything"
name = "Tiny NSFW at threshold 0"
builtin = "tiny-nsfw"
threshold = 0.0
"""


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLlm]:
    with FakeLlm().running() as fake:
        yield fake


@pytest.fixture(scope="module")
def helped(tmp_path_factory: pytest.TempPathFactory, llm: FakeLlm) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("sfumato-prompts")
    catalog = data_dir / "operator-catalog.toml"
    catalog.write_text(SAFETY_CATALOG, encoding="utf-8")
    env = {"SFUMATO_LLM_BASE_URL": llm.base_url, "SFUMATO_LLM_MODEL": "tiny-chat", "SFUMATO_LLM_API_KEY": "sk-test",
           "SFUMATO_LLM_TIMEOUT_S": "1", "SFUMATO_CATALOG_FILE": str(catalog)}  # fmt: skip
    with Server(data_dir, env=env).running() as instance:
        yield instance


@pytest.fixture(scope="module")
def carol(helped: Server) -> dict[str, Any]:
    return helped.create_key("carol")


def _generate(server: Server, key: dict[str, Any], **fields: Any) -> dict[str, Any]:
    created = server.sdk(key["apiKey"]).image.create_generation(request=tiny_request(seed=11, **fields)).object
    assert created is not None and created.sd_generation_job is not None
    with server.http(key["apiKey"]) as client:
        finished = wait_for_generation(client, str(created.sd_generation_job.generation_id), timeout_s=120)
    assert finished["status"] == "COMPLETE", finished
    return finished


def _pixels(generation: dict[str, Any]) -> np.ndarray:
    data = httpx.get(generation["generated_images"][0]["url"], timeout=30).content
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=float)


def test_prompt_routes_answer_the_llms_prompt(helped: Server, carol: dict[str, Any], llm: FakeLlm) -> None:
    sdk: LeonardoAiSDK = helped.sdk(carol["apiKey"])
    llm.received.clear()
    improved = sdk.prompt.prompt_improve(request={"prompt": "a fox", "prompt_instructions": "make it wintry"}).object
    randomised = sdk.prompt.prompt_random().object

    assert improved is not None and improved.prompt_generation is not None
    assert improved.prompt_generation.prompt == marked("a fox") and improved.prompt_generation.api_credit_cost == 4
    assert randomised is not None and randomised.prompt_generation is not None
    improve_request, random_request = llm.received
    assert randomised.prompt_generation.prompt == marked(random_request.messages[1]["content"])
    for request in (improve_request, random_request):
        assert request.path == "/v1/chat/completions" and request.headers["authorization"] == "Bearer sk-test"
        assert request.body["model"] == "tiny-chat"
    assert improve_request.messages[1] == {"role": "user", "content": "a fox"}
    assert "make it wintry" in improve_request.messages[0]["content"]


def test_enhanced_generation_draws_the_llms_prompt_and_flags_its_images(
    helped: Server, carol: dict[str, Any], llm: FakeLlm
) -> None:
    enhanced = _generate(helped, carol, enhance_prompt=True, enhance_prompt_instruction="wintry")
    assert enhanced["prompt"] == marked("a lighthouse at dusk")
    assert "wintry" in llm.received[-1].messages[0]["content"]
    # The same seed with that prompt sent as is: exactly the same pixels, so the LLM's prompt was drawn.
    plain = _generate(helped, carol, prompt=marked("a lighthouse at dusk"))
    assert np.array_equal(_pixels(enhanced), _pixels(plain))
    # The catalog's classifier flags every image; each is stored as drawn, not blacked out.
    assert [image["nsfw"] for image in enhanced["generated_images"] + plain["generated_images"]] == [True, True]
    assert _pixels(enhanced).std() > 1


def test_a_failing_or_slow_llm_is_a_5xx_with_leonardos_body(
    helped: Server, carol: dict[str, Any], llm: FakeLlm
) -> None:
    sdk = helped.sdk(carol["apiKey"])
    try:
        for mode, status in (("error", 502), ("busy", 503), ("slow", 504)):
            llm.mode, llm.delay_s = mode, 3.0  # type: ignore[assignment]
            with pytest.raises(errors.SDKError) as raised:
                sdk.prompt.prompt_improve(request={"prompt": "a fox"})
            assert raised.value.status_code == status, raised.value.body
            assert set(json.loads(raised.value.body)) == {"error", "path", "code"}
        llm.mode = "error"
        with pytest.raises(errors.SDKError) as raised:
            sdk.image.create_generation(request=tiny_request(enhance_prompt=True))
        assert raised.value.status_code == 502
    finally:
        llm.mode = "ok"


def test_without_an_llm_or_classifier_and_the_pricing_calculator(server: Server, alice: dict[str, Any]) -> None:
    sdk = server.sdk(alice["apiKey"])
    for call in (
        sdk.prompt.prompt_random,
        lambda: sdk.image.create_generation(request=tiny_request(enhance_prompt=True)),
    ):
        with pytest.raises(errors.SDKError) as raised:
            call()
        assert raised.value.status_code == 400 and "SFUMATO_LLM_BASE_URL" in raised.value.body

    # The tiny request with the hi-res fix (a 96 px second pass): the quote prices that pass too.
    params = {"image_width": 64, "image_height": 64, "num_images": 1, "alchemy_mode": False, "high_resolution": True}
    quote = sdk.pricing_calculator.pricing_calculator(
        request={"service": "IMAGE_GENERATION", "service_params": {"IMAGE_GENERATION": params}}
    ).object
    assert quote is not None and quote.calculate_production_api_service_cost is not None
    created = sdk.image.create_generation(request=tiny_request(high_resolution=True)).object
    assert created is not None and created.sd_generation_job is not None
    assert quote.calculate_production_api_service_cost.cost == created.sd_generation_job.api_credit_cost
    with server.http(alice["apiKey"]) as client:
        finished = wait_for_generation(client, str(created.sd_generation_job.generation_id))
    assert [image["nsfw"] for image in finished["generated_images"]] == [False]  # no classifier installed

    def quote_at_512(**more: Any) -> int:
        asked = {"image_width": 512, "image_height": 512, "num_images": 4, **more}
        answer = sdk.pricing_calculator.pricing_calculator(
            request={"service": "IMAGE_GENERATION", "service_params": {"IMAGE_GENERATION": asked}}
        ).object
        assert answer is not None and answer.calculate_production_api_service_cost is not None
        return int(answer.calculate_production_api_service_cost.cost or 0)

    plain = quote_at_512(alchemy_mode=False)
    assert quote_at_512(alchemy_mode=True) > plain and quote_at_512(alchemy_mode=False, high_resolution=True) > plain
    with pytest.raises(errors.SDKError) as raised:
        sdk.pricing_calculator.pricing_calculator(request={"service": "MODEL_TRAINING"})
    assert raised.value.status_code == 400 and "model training" in raised.value.body
