"""Plain values passed between the job runner and the engine.

They carry no Leonardo wire names: the service layer has already resolved defaults,
presets and the model, so the engine only sees what a diffusers call needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Leonardo's seven scheduler names (the spec's `sd_generation_schedulers` enum).
SCHEDULERS: tuple[str, ...] = (
    "KLMS",
    "EULER_ANCESTRAL_DISCRETE",
    "EULER_DISCRETE",
    "DDIM",
    "DPM_SOLVER",
    "PNDM",
    "LEONARDO",
)


@dataclass(frozen=True)
class RenderRequest:
    """One batched text-to-image call: `num_images` pictures from one prompt."""

    prompt: str
    negative_prompt: str
    width: int
    height: int
    num_images: int
    seed: int
    guidance_scale: float
    num_inference_steps: int
    scheduler: str


StepCallback = Callable[[int, int], None]
"""Called after each denoising step with (steps_done, steps_total)."""
