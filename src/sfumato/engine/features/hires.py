"""The high-resolution second pass (`RenderRequest.hires`): enlarge, then refine with image-to-image.

The hi-res fix: the first pass draws at the requested size, where the model composes well; each
picture is then enlarged with Lanczos to the pass's size and redrawn by the family's
image-to-image pipeline at a low strength, which adds detail at the new size and keeps the
composition. The same loaded model and prompt; picture i is refined with seed `seed + i`, so it
can be reproduced alone. It runs inside the renderer's request features, so LoRA elements and
tiling stay applied; ControlNet guidance does not take part (the picture it guided is the init).
"""

from __future__ import annotations

import inspect
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PIL import Image

from sfumato.engine.families import Family
from sfumato.engine.request import InitImage, RenderRequest, StepCallback, Task

if TYPE_CHECKING:
    from sfumato.engine.renderer import LoadedModel


class TwoPassProgress:
    """Reports both passes through one `on_step`: (steps done, steps of both passes)."""

    def __init__(self, family: Family, request: RenderRequest, on_step: StepCallback) -> None:
        assert request.hires is not None
        self._on_step = on_step
        self._first_total = family.denoising_steps(request)
        self.per_picture = family.strength_steps(refine_steps(family, request), request.hires.strength)
        self._later = self.per_picture * request.num_images

    def first(self, done: int, total: int) -> None:
        self._first_total = total
        self._on_step(done, total + self._later)

    def second(self, picture: int) -> StepCallback:
        def report(done: int, _total: int) -> None:
            offset = self._first_total + picture * self.per_picture
            self._on_step(min(offset + done, self._first_total + self._later), self._first_total + self._later)

        return report


def refine_steps(family: Family, request: RenderRequest) -> int:
    """The refine pass's `num_inference_steps`: the request's, or more where its strength would
    leave no step to run (diffusers runs only the last `strength` share of them)."""
    assert request.hires is not None
    steps = request.num_inference_steps
    while family.strength_steps(steps, request.hires.strength) < 1:
        steps += 1
    return steps


def hires_pass(
    model: LoadedModel,
    family: Family,
    request: RenderRequest,
    images: list[Image.Image],
    progress: TwoPassProgress | None,
    extra: dict[str, Any] | None = None,
) -> list[Image.Image]:
    """The first pass's `images`, each enlarged and refined. `extra` holds the request features'
    keyword arguments: an IP-Adapter's image embeddings go with the refine too (its adapter stays
    loaded in the shared denoiser, which then needs them); the others (a ControlNet's control image,
    FLUX's prepared latents) belong to the first pass only."""
    from sfumato.engine.renderer import call_pipeline  # the renderer imports this module

    hires = request.hires
    assert hires is not None
    pipe = model.pipeline(Task.IMAGE_TO_IMAGE)
    accepted = inspect.signature(type(pipe).__call__).parameters
    kept = {name: value for name, value in (extra or {}).items() if "ip_adapter" in name and name in accepted}
    steps = refine_steps(family, request)
    refined: list[Image.Image] = []
    for i, picture in enumerate(images):
        enlarged = picture.convert("RGB").resize((hires.width, hires.height), Image.Resampling.LANCZOS)
        second = replace(
            request,
            task=Task.IMAGE_TO_IMAGE,
            init=InitImage(enlarged, hires.strength),
            mask=None,
            width=hires.width,
            height=hires.height,
            num_images=1,
            seed=request.seed + i,
            num_inference_steps=steps,
            controls=(),
            references=(),
            hires=None,
        )
        refined += call_pipeline(pipe, family, second, progress.second(i) if progress else None, kept)
    return refined
