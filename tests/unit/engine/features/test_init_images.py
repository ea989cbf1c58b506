"""Init images and masks fitted to a request, and the paste-back that keeps what a mask keeps."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PIL import Image

from sfumato.engine.features.init_images import fit_to_request, paste_outside_mask
from sfumato.engine.request import InitImage, Mask, RenderRequest, Task

TEXT = RenderRequest("a cat", "", 32, 16, 1, 0, 7.0, 2, "EULER_DISCRETE")


def test_the_init_image_and_mask_are_stretched_to_the_request_in_pipeline_modes() -> None:
    mask = Image.new("RGB", (64, 64), (0, 0, 0))
    mask.paste((255, 255, 255), (32, 0, 64, 64))  # the right half, in colour
    init = InitImage(Image.new("RGBA", (64, 64), (10, 20, 30, 40)), 0.7)
    fitted = fit_to_request(replace(TEXT, task=Task.INPAINT, init=init, mask=Mask(mask)))
    assert fitted.init is not None and fitted.mask is not None
    assert (fitted.init.image.size, fitted.init.image.mode, fitted.init.strength) == ((32, 16), "RGB", 0.7)
    assert fitted.init.image.getpixel((5, 5)) == (10, 20, 30)
    assert (fitted.mask.image.size, fitted.mask.image.mode) == ((32, 16), "L")
    # Nearest-neighbour: still only black and white, split where it was.
    assert set(np.unique(np.asarray(fitted.mask.image))) == {0, 255}
    assert (np.asarray(fitted.mask.image)[:, 16:] == 255).all() and (np.asarray(fitted.mask.image)[:, :16] == 0).all()


def test_images_already_fitted_are_kept_as_they_are() -> None:
    init, mask = Image.new("RGB", (32, 16)), Image.new("L", (32, 16))
    fitted = fit_to_request(replace(TEXT, task=Task.INPAINT, init=InitImage(init, 1.0), mask=Mask(mask)))
    assert fitted.init is not None and fitted.mask is not None
    assert fitted.init.image is init and fitted.mask.image is mask
    assert fit_to_request(TEXT) == TEXT


def test_the_paste_back_keeps_black_exactly_takes_white_and_blends_grey() -> None:
    generated, original = Image.new("RGB", (3, 1), (200, 100, 0)), Image.new("RGB", (3, 1), (0, 100, 200))
    mask = Image.fromarray(np.array([[0, 255, 128]], np.uint8))
    pasted = paste_outside_mask(generated, original, mask)
    assert [pasted.getpixel((x, 0)) for x in range(3)] == [(0, 100, 200), (200, 100, 0), (100, 100, 100)]
