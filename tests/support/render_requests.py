"""The engine tests' one render request: 2 steps at 32 px (diffusers' own test sizes), since render
tests check the wiring, not the picture. Each test overrides only what it is about."""

from __future__ import annotations

from typing import Any

from sfumato.engine import RenderRequest

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
