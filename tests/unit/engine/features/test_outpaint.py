"""The outpaint canvas: the source centred, a mask that repaints only the margin, a size on every
family's grid; built without torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from sfumato.engine import outpaint_canvas
from sfumato.engine.families import FAMILIES


def source(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.mark.parametrize(
    ("size", "amount", "canvas", "box"),
    [
        ((16, 16), 1.0, (32, 32), (8, 8, 24, 24)),
        ((32, 16), 0.5, (48, 32), (8, 8, 40, 24)),
        ((20, 12), 0.25, (32, 16), (6, 2, 26, 14)),  # rounded up to the 16-px grid; the odd pixel right/below
        ((32, 32), 0.0, (32, 32), (0, 0, 32, 32)),
    ],
)
def test_the_source_lies_in_the_centre_of_a_canvas_on_every_familys_grid(
    size: tuple[int, int], amount: float, canvas: tuple[int, int], box: tuple[int, int, int, int]
) -> None:
    picture = source(*size)
    built = outpaint_canvas(picture, amount)
    assert built.image.size == built.mask.size == canvas and built.box == box
    assert (built.image.mode, built.mask.mode) == ("RGB", "L")
    assert all(side % family.size_multiple == 0 for side in canvas for family in FAMILIES.values())
    assert np.array_equal(np.asarray(built.image.crop(box)), np.asarray(picture))
    mask = np.asarray(built.mask)
    inside = np.zeros(mask.shape, bool)
    inside[box[1] : box[3], box[0] : box[2]] = True
    assert (mask[inside] == 0).all() and (mask[~inside] == 255).all()  # white = repaint the margin only


def test_the_margin_starts_as_the_sources_mean_colour() -> None:
    picture = Image.new("RGB", (16, 16), (200, 40, 10))
    picture.paste((0, 40, 30), (0, 0, 8, 16))  # half of it: mean (100, 40, 20)
    built = outpaint_canvas(picture, 1.0)
    assert built.image.getpixel((0, 0)) == built.image.getpixel((31, 31)) == (100, 40, 20)


def test_any_picture_mode_gives_an_rgb_canvas() -> None:
    built = outpaint_canvas(source(16, 16).convert("RGBA"), 1.0)
    assert built.image.mode == "RGB" and built.image.size == (32, 32)


@pytest.mark.parametrize("amount", [-0.1, float("nan"), float("inf")])
def test_an_amount_that_is_not_a_fraction_of_the_size_is_refused(amount: float) -> None:
    with pytest.raises(ValueError, match="0 or more"):
        outpaint_canvas(source(16, 16), amount)


def test_the_door_builds_canvases_without_torch() -> None:
    """The layer that reads Leonardo's fields builds the canvas at POST time, in an API-only process."""
    code = (
        "import sys\nfrom PIL import Image\nfrom sfumato.engine import outpaint_canvas\n"
        "outpaint_canvas(Image.new('RGB', (16, 16)), 1.0)\n"
        "print(sorted({'torch', 'diffusers'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"
