"""Finishing knobs through the official Python SDK: Ultra's hi-res pass gives a picture twice the
size, recorded in imageWidth/imageHeight and echoed as `ultra`; Prompt Magic and contrast change
the pixels of the same seed and are echoed; the knobs no open technique reproduces are refused by
name."""

from __future__ import annotations

import io
from typing import Any

import httpx
import numpy as np
import pytest
from leonardo_ai_sdk import LeonardoAiSDK
from leonardo_ai_sdk.models import errors
from PIL import Image

from tests.conftest import Server, tiny_request, wait_for_generation

pytestmark = pytest.mark.both_modes

SEED = 5


@pytest.fixture(scope="module")
def alice_sdk(server: Server, alice: dict[str, Any]) -> LeonardoAiSDK:
    return server.sdk(alice["apiKey"])


def generate(server: Server, sdk: LeonardoAiSDK, key: dict[str, Any], **fields: Any) -> tuple[Any, Image.Image]:
    """A finished generation as the SDK reads it, and its picture."""
    created = sdk.image.create_generation(request=tiny_request(seed=SEED, **fields)).object
    assert created is not None and created.sd_generation_job is not None
    generation_id = created.sd_generation_job.generation_id
    assert generation_id is not None
    with server.http(key["apiKey"]) as client:
        assert wait_for_generation(client, generation_id, timeout_s=180)["status"] == "COMPLETE"
    read = sdk.image.get_generation_by_id(id=generation_id).object
    assert read is not None and read.generations_by_pk is not None
    generation = read.generations_by_pk
    assert generation.generated_images
    url = generation.generated_images[0].url
    assert url is not None
    return generation, Image.open(io.BytesIO(httpx.get(url, timeout=30).content)).convert("RGB")


def test_ultra_doubles_the_size_and_is_recorded(
    server: Server, alice_sdk: LeonardoAiSDK, alice: dict[str, Any]
) -> None:
    generation, picture = generate(server, alice_sdk, alice, ultra=True)
    assert picture.size == (128, 128)
    assert (generation.image_width, generation.image_height) == (128, 128)
    assert generation.ultra is True and generation.prompt_magic is False and generation.photo_real is False


def test_prompt_magic_and_contrast_change_the_pixels_and_are_echoed(
    server: Server, alice_sdk: LeonardoAiSDK, alice: dict[str, Any]
) -> None:
    plain_generation, plain = generate(server, alice_sdk, alice)
    magic_generation, magic = generate(server, alice_sdk, alice, prompt_magic=True, prompt_magic_strength=0.3,
                                       contrast=4.5)  # fmt: skip
    assert plain_generation.prompt_magic is False and plain_generation.prompt_magic_version is None
    assert magic_generation.prompt_magic is True
    assert (magic_generation.prompt_magic_strength, magic_generation.prompt_magic_version) == (0.3, "v3")
    assert magic.size == plain.size == (64, 64)  # a refine pass keeps the size
    assert not np.array_equal(np.asarray(magic), np.asarray(plain))


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"expanded_domain": True}, "expandedDomain", "not published"),
        ({"fantasy_avatar": True}, "fantasyAvatar", "identity-preserving"),
        ({"photo_real": True}, "photoReal", "PhotoReal v2 needs alchemy"),  # the SDK sends a modelId
        ({"contrast": 2.0}, "contrast", "must be one of"),
    ],
)
def test_what_cannot_be_honoured_is_refused_by_name(
    alice_sdk: LeonardoAiSDK, fields: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(errors.SDKError) as raised:
        alice_sdk.image.create_generation(request=tiny_request(**fields))
    assert raised.value.status_code == 400
    assert f"args.arg1.{field}" in raised.value.body and words in raised.value.body
