"""Seamless tiling and image prompts through the official Python SDK on the built-in model.

The same seed with and without `tiling` gives other pixels (the engine tests prove the pictures
tile: rolling the latents rolls them). An uploaded picture sent as an image prompt conditions the
built-in IP-Adapter: it changes the pixels, and at `imagePromptWeight` 0 gives exactly the base."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.conftest import Server
from tests.integration.test_image_to_image import generate as finished_generation
from tests.integration.test_image_to_image import pixels, uploaded_init_image
from tests.support.images import picture

pytestmark = pytest.mark.both_modes

SIZE = 64
SEED = 11


def generate(server: Server, key: dict[str, Any], **fields: Any) -> np.ndarray:
    """The first picture of a finished generation of the built-in model, as signed pixels."""
    return pixels(finished_generation(server, key, seed=SEED, **fields)).astype(np.int16)


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
    reference = uploaded_init_image(server.sdk(alice["apiKey"]), picture((48, 48)))
    prompted = generate(server, alice, image_prompts=[reference])
    assert np.abs(prompted - base).mean() > 1
    assert np.array_equal(generate(server, alice, image_prompts=[reference], image_prompt_weight=0), base)
