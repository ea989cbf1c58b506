"""Images a generation starts from: which Leonardo fields name them, and what they ask for.

Leonardo sends them three ways: `init_image_id` (an upload), `init_generation_image_id` (an image
of one of the caller's generations), or a canvas request (`canvasRequest: true`, a
`canvasRequestType`, `canvasInitId` and, to repaint part of it, `canvasMaskId`). The wire layer
turns them into `ImageRef`s; the service looks each up among the caller's own images (another
user's id is "not found", like any id) and hands `resolve()` their stored keys as `SourceImages`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

# Leonardo's init_strength: how strongly the output reflects the image (0.9 stays close to it).
INIT_STRENGTH_MIN, INIT_STRENGTH_MAX = 0.1, 0.9
# With an image and no init_strength: the middle of Leonardo's range (its guides use 0.5).
DEFAULT_INIT_STRENGTH = 0.5
# unzoomAmount a: the init image centred on a canvas (1 + a) times its sides, the margin outpainted,
# the whole drawn at the request's size. Leonardo documents no range; 1 doubles each side.
UNZOOM_MIN, UNZOOM_MAX = 0.0, 1.0


class ImageOrigin(StrEnum):
    UPLOADED = "UPLOADED"  # POST /init-image or /canvas-init-image, then the presigned upload
    GENERATED = "GENERATED"  # an image of one of the caller's generations
    VARIATION = "VARIATION"  # a finished variation's picture (v2's image references)


class CanvasMode(StrEnum):
    """Leonardo's `canvasRequestType`."""

    INPAINT = "INPAINT"  # repaint the mask's white part
    OUTPAINT = "OUTPAINT"  # the same technique: the mask is white where the canvas is to be filled
    IMG2IMG = "IMG2IMG"  # the canvas image as an init image
    SKETCH2IMG = "SKETCH2IMG"  # a sketch as an init image

    @property
    def repaints_mask(self) -> bool:
        return self in (CanvasMode.INPAINT, CanvasMode.OUTPAINT)


class Task(StrEnum):
    """What the render starts from, as the plan stores it (the engine's task names)."""

    TEXT_TO_IMAGE = "text-to-image"
    IMAGE_TO_IMAGE = "image-to-image"
    INPAINT = "inpaint"


@dataclass(frozen=True)
class ImageRef:
    """An image a request names by id, with the Leonardo field that named it (for its errors)."""

    origin: ImageOrigin
    id: str
    field: str


@dataclass(frozen=True)
class SourceImages:
    """The stored keys of the request's images, found by the service among the caller's own."""

    init_key: str | None = None
    mask_key: str | None = None
    # Guidance and reference images (ControlNets, image prompts), by the reference that named them.
    guides: Mapping[ImageRef, str] = field(default_factory=dict)


def diffusers_strength(init_strength: float) -> float:
    """Leonardo's init_strength (how much of the image survives) as diffusers' `strength` (how much
    noise covers it). Rounded: 1 - 0.9 is 0.09999999999999998 in floating point, which would make
    10 steps run 0."""
    return round(1.0 - init_strength, 6)
