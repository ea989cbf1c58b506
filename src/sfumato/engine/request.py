"""Plain values passed between the job runner and the engine.

They carry no Leonardo wire names: the service layer has already resolved defaults,
presets and the model, so the engine only sees what a diffusers call needs.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the door stays light: PIL loads with the code that makes the images
    from PIL import Image

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


class Task(enum.Enum):
    """What a render starts from; each family names the diffusers pipeline it uses for each."""

    TEXT_TO_IMAGE = "text-to-image"
    IMAGE_TO_IMAGE = "image-to-image"
    INPAINT = "inpaint"


@dataclass(frozen=True)
class InitImage:
    """The picture an image-to-image or inpaint render starts from (any size: the render stretches
    it to the request's width and height).

    `strength` (0-1) is diffusers' `strength`: how much noise is laid over the image before
    denoising, so how far the picture may depart from it. 0 keeps it, 1 keeps nothing but its size
    (and, for inpaint, the pixels outside the mask). Diffusers runs only the last
    `strength * num_inference_steps` steps (rounded as each family's pipelines round it:
    `Family.denoising_steps`), so a request must leave at least one.
    Leonardo's `init_strength` means the opposite (how strongly the output reflects the image):
    `strength = 1 - init_strength`, which the layer that reads Leonardo's fields works out.
    """

    image: Image.Image
    strength: float

    def __post_init__(self) -> None:
        if not 0 <= self.strength <= 1:
            raise ValueError(f"init image strength must be between 0 and 1, got {self.strength}")


@dataclass(frozen=True)
class Mask:
    """Which part of the init image an inpaint render repaints: white repaints, black keeps.

    Read as greyscale, at the init image's size (a mask of another size is refused). Pixels it
    keeps (black) come back exactly as in the init image; grey ones blend the two (a soft edge).
    """

    image: Image.Image


@dataclass(frozen=True)
class ControlGuide:
    """One ControlNet's guidance: the source picture (any size), what it is turned into before the
    ControlNet sees it (`kind`: "canny", "depth", "normal", "pose", "lineart", "sketch" or "image",
    the picture itself), and `scale`, diffusers' `controlnet_conditioning_scale` (0 draws as
    without it). Which ControlNet weights serve `kind` is the engine's choice (the catalog's)."""

    kind: str
    image: Image.Image
    scale: float


@dataclass(frozen=True)
class ImageReference:
    """A reference picture an IP-Adapter conditions on: `kind` is "style", "character", "content"
    or "image" (Leonardo's image prompts); `scale` is the adapter's scale (0 draws as without it)."""

    kind: str
    image: Image.Image
    scale: float


@dataclass(frozen=True)
class LoraWeight:
    """One LoRA element applied at `scale` (0 draws exactly as the base model): `element_id` is its
    catalog id, whose file the engine loads."""

    element_id: str
    scale: float


@dataclass(frozen=True)
class HiresPass:
    """A second, image-to-image pass over the first pass's pictures enlarged to `width` x `height`
    (the output's size, sides a multiple of the family's size multiple; the request's own size: a
    refine pass), at diffusers' `strength`. The caller picks the size, since it records it."""

    width: int
    height: int
    strength: float

    def __post_init__(self) -> None:
        if not 0 < self.strength <= 1:
            raise ValueError(f"a hi-res pass's strength must be above 0 and at most 1, got {self.strength}")


# The parts each task needs: (init image, mask).
_TASK_PARTS = {
    Task.TEXT_TO_IMAGE: (False, False),
    Task.IMAGE_TO_IMAGE: (True, False),
    Task.INPAINT: (True, True),
}


@dataclass(frozen=True)
class RenderRequest:
    """One batched call: `num_images` pictures from one prompt, drawn as `task` says.

    Text-to-image (the default) has no `init` nor `mask`; image-to-image has an `init`; inpaint
    has both (an outpaint is an inpaint of a larger canvas: `features.outpaint.outpaint_canvas`).
    A request whose parts do not match its task is a programming error (ValueError).
    """

    prompt: str
    negative_prompt: str
    width: int
    height: int
    num_images: int
    seed: int
    guidance_scale: float
    num_inference_steps: int
    scheduler: str
    task: Task = Task.TEXT_TO_IMAGE
    init: InitImage | None = None
    mask: Mask | None = None
    # Guidance and style (each in `engine/features/`): ControlNets, IP-Adapter references, LoRA
    # elements, seamless tiling, a high-resolution second pass, and CFG rescale (0: off).
    controls: tuple[ControlGuide, ...] = ()
    references: tuple[ImageReference, ...] = ()
    loras: tuple[LoraWeight, ...] = ()
    tiling: bool = False
    hires: HiresPass | None = None
    guidance_rescale: float = 0.0

    def __post_init__(self) -> None:
        wants_init, wants_mask = _TASK_PARTS[self.task]
        if (self.init is not None) != wants_init or (self.mask is not None) != wants_mask:
            raise ValueError(
                f"a {self.task.value} request has {'an' if wants_init else 'no'} init image and "
                f"{'a' if wants_mask else 'no'} mask"
            )


@dataclass(frozen=True)
class FamilyTraits:
    """What rules outside the engine need to know of a model's family, as plain values."""

    style_negative_terms: bool
    """Whether a preset style's stock negative terms are worth adding (not where a negative
    prompt costs a second denoiser pass per step, as on guidance-distilled FLUX)."""
    seed_max: int
    """The largest seed the family takes (Leonardo documents a lower one for FLUX)."""
    init_strength: bool = True
    """Whether its image-to-image honours the init image's strength (not FLUX Kontext's, which
    edits the image as the prompt says, with no noise strength)."""
    lora_family: str = ""
    """The family whose LoRA elements it takes (an element's base model names one): its own name,
    or the family it derives from (SDXL-Lightning takes SDXL's, Kontext FLUX's)."""


StepCallback = Callable[[int, int], None]
"""Called after each denoising step with (steps_done, steps_total)."""
