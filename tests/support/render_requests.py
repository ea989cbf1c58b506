"""The engine tests' one render request: 2 steps at 32 px (diffusers' own test sizes), since render
tests check the wiring, not the picture. Each test overrides only what it is about."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from sfumato.engine import ImageReference, RenderRequest

if TYPE_CHECKING:
    from sfumato.engine.renderer import Renderer
    from sfumato.engine.weights.loaders import ModelSource

_DEFAULTS: dict[str, Any] = {
    "prompt": "a lighthouse on a cliff at dusk",
    "negative_prompt": "",
    "width": 32,
    "height": 32,
    "num_images": 1,
    "seed": 7,
    "guidance_scale": 7.0,
    "num_inference_steps": 2,
    "scheduler": "EULER_DISCRETE",
}


def tiny_render(**fields: Any) -> RenderRequest:
    return RenderRequest(**{**_DEFAULTS, **fields})


def draw(renderer: Renderer, source: ModelSource, request: RenderRequest) -> np.ndarray:
    """The request's first picture as signed integers, ready to subtract from another."""
    return np.asarray(renderer.render(source, request)[0]).astype(np.int16)


def refs(*pictures: Image.Image, kind: str = "image", scale: float = 1.0) -> tuple[ImageReference, ...]:
    """Reference pictures of one kind at one scale."""
    return tuple(ImageReference(kind, image, scale) for image in pictures)
