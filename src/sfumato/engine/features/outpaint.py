"""Outpaint (Leonardo's `unzoom`, a canvas OUTPAINT) as an inpaint: the picture centred on a
larger canvas, with a mask that repaints only the margin around it.

The caller builds the canvas here and asks for an INPAINT render of it (width and height the
canvas's, or smaller to get an unzoomed picture of the source's size: the render stretches canvas
and mask alike). The paste-back outside the mask keeps the source's pixels exactly. Pure and
torch-free; PIL loads when a canvas is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

CANVAS_MULTIPLE = 16
"""Canvas sides are rounded up to this: on every family's grid (8 px for the UNet families, 16
for the flow-matching ones), so the canvas's size is a valid request size for any model."""


@dataclass(frozen=True)
class OutpaintCanvas:
    """What an outpaint renders: `image` (RGB, the source centred on its mean colour), `mask`
    (greyscale, white = the margin to paint, black = the source) and `box`, where the source lies
    (left, top, right, bottom)."""

    image: Image.Image
    mask: Image.Image
    box: tuple[int, int, int, int]


def outpaint_canvas(source: Image.Image, amount: float, multiple: int = CANVAS_MULTIPLE) -> OutpaintCanvas:
    """`source` centred on a canvas `1 + amount` times its width and height, rounded up to `multiple`.

    `amount` 0.5 adds a quarter of each side on both sides. The margin starts as the source's mean
    colour, which is what a render at a strength below 1 departs from. The caller bounds `amount`
    (the canvas is allocated here, before any size rule sees it).
    """
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(f"an outpaint amount is a fraction of the picture's size, 0 or more, got {amount}")
    from PIL import Image, ImageStat

    picture = source.convert("RGB")
    width, height = picture.size
    canvas_width, canvas_height = (math.ceil(side * (1 + amount) / multiple) * multiple for side in (width, height))
    left, top = (canvas_width - width) // 2, (canvas_height - height) // 2
    box = (left, top, left + width, top + height)
    fill = tuple(round(channel) for channel in ImageStat.Stat(picture).mean)
    image = Image.new("RGB", (canvas_width, canvas_height), fill)
    image.paste(picture, box)
    mask = Image.new("L", (canvas_width, canvas_height), 255)
    mask.paste(0, box)
    return OutpaintCanvas(image, mask, box)
