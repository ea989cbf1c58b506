"""Seamless tiling and image prompts through the official Python SDK on the built-in model.

The same seed with and without `tiling` gives other pixels (the engine tests prove the pictures
tile: rolling the latents rolls them). An uploaded picture sent as an image prompt conditions the
built-in IP-Adapter: it changes the pixels, and at `imagePromptWeight` 0 gives exactly the base."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import numpy as np
import pytest
from leonardo_ai_sdk import LeonardoAiSDK
from PIL import Image

from tests.conftest import Server, tiny_request, wait_for_generation
from tests.support.images import picture

SIZE = 64
SEED = 11


def generate(server: Server, key: dict[str, Any], **fields: Any) -> np.ndarray:
    """The first picture of a finished generation of the built-in model, as pixels."""
    request = tiny_request(width=SIZE, height=SIZE, seed=SEED, **fields)
    created = server.sdk(key["apiKey"]).image.create_generation(request=request).object
    assert created is not None and created.sd_generation_job is not None
    generation_id = created.sd_generation_job.generation_id
    assert generation_id is not None
    with server.http(key["apiKey"]) as client:
        finished = wait_for_generation(client, generation_id, timeout_s=120)
    assert finished["status"] == "COMPLETE", finished
    data = httpx.get(finished["generated_images"][0]["url"], timeout=30).content
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def uploaded(sdk: LeonardoAiSDK, image: Image.Image) -> str:
    """An init image uploaded as Leonardo's guide shows: presigned form, then a multipart POST."""
    form = sdk.init_images.upload_init_image(request={"extension": "png"}).object
    assert form is not None and form.upload_init_image is not None
    target = form.upload_init_image
    assert target.id and target.url and isinstance(target.fields, str)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    files = {"file": ("reference.png", buffer.getvalue(), "image/png")}
    answer = httpx.post(target.url, data=json.loads(target.fields), files=files, timeout=30)
    assert answer.status_code == 204, answer.text
    return target.id


@pytest.fixture(scope="module")
def base(server: Server, alice: dict[str, Any]) -> np.ndarray:
    return generate(server, alice)


def test_tiling_through_the_sdk_completes_and_changes_the_pixels(
    server: Server, alice: dict[str, Any], base: np.ndarray
) -> None:
    tiled = generate(server, alice, tiling=True)
    assert tiled.shape == base.shape == (SIZE, SIZE, 3)
    assert np.abs(tiled - base).mean() > 1


def test_an_image_prompt_changes_the_pixels_and_weight_zero_is_the_base(
    server: Server, alice: dict[str, Any], base: np.ndarray
) -> None:
    reference = uploaded(server.sdk(alice["apiKey"]), picture((48, 48)))
    prompted = generate(server, alice, image_prompts=[reference])
    assert np.abs(prompted - base).mean() > 1
    assert np.array_equal(generate(server, alice, image_prompts=[reference], image_prompt_weight=0), base)
