"""Every guidance and style knob in one request, through the official Python SDK (the README's
example): a ControlNet, an image prompt, an element, tiling, contrast and the hi-res pass draw
together on the built-in model, and the next plain request draws exactly the base again."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.conftest import Server
from tests.integration.test_image_to_image import generate, pixels, uploaded_init_image
from tests.support.images import picture

pytestmark = pytest.mark.both_modes

SIZE = 64
BUILTIN_ELEMENT = "33c0cdca-793a-4abb-8634-f9f8a68b47bf"  # the shipped catalog's Sfumato Tiny Element


def test_every_knob_at_once_then_the_base_again(server: Server, alice: dict[str, Any]) -> None:
    base = generate(server, alice)
    init_id = uploaded_init_image(server.sdk(alice["apiKey"]), picture((SIZE, SIZE)))

    canny = {"init_image_id": init_id, "init_image_type": "UPLOADED", "preprocessor_id": 1, "strength_type": "Mid"}
    everything = generate(
        server,
        alice,
        controlnets=[canny],
        image_prompts=[init_id],
        image_prompt_weight=0.5,
        elements=[{"akUUID": BUILTIN_ELEMENT, "weight": 0.8}],
        tiling=True,
        contrast=3.5,
        high_resolution=True,
    )
    # The hi-res pass draws 1.5x each side (on the 16-px grid), and GET says so.
    assert (everything["imageWidth"], everything["imageHeight"]) == (96, 96)
    picture_data = httpx.get(everything["generated_images"][0]["url"], timeout=30).content
    assert Image.open(BytesIO(picture_data)).size == (96, 96)
    [element] = everything["generation_elements"]
    assert element["lora"]["akUUID"] == BUILTIN_ELEMENT and element["weightApplied"] == 0.8

    # Nothing stayed applied to the cached model: the same plain request draws the base bit for bit.
    assert np.array_equal(pixels(generate(server, alice)), pixels(base))
