"""Init images and masks made ready for a pipeline call, and inpaint's paste-back.

Diffusers' pipelines size images on their own terms (SD's image-to-image keeps the init image's
size and takes no width or height; FLUX's resizes it to them), so the renderer first stretches the
init image and mask to the request's width and height: every family then draws the size asked.

After an inpaint the original pixels go back outside the mask: the pipelines blend the kept part
back in latent space, but the VAE's decode still changes every pixel (by up to 243 of 255 with a
random VAE, a little with a real one), and a user's unmasked pixels must come back as they were.
"""

from __future__ import annotations

from dataclasses import replace

from PIL import Image

from sfumato.engine.request import InitImage, Mask, RenderRequest


def fit_to_request(request: RenderRequest) -> RenderRequest:
    """`request` with its init image (RGB) and mask (greyscale) at its width and height.

    The init image is stretched (its aspect ratio is not kept) with Lanczos; the mask with
    nearest-neighbour, so what it keeps stays exactly black and the paste-back exact.
    """
    size = (request.width, request.height)
    init = mask = None
    if request.init is not None:
        init = InitImage(_fit(request.init.image, "RGB", size, Image.Resampling.LANCZOS), request.init.strength)
    if request.mask is not None:
        mask = Mask(_fit(request.mask.image, "L", size, Image.Resampling.NEAREST))
    return replace(request, init=init, mask=mask)


def on_grid(request: RenderRequest, multiple: int) -> RenderRequest:
    """`request` with its sides rounded up to a multiple of `multiple` (the family's latent grid),
    for the pipeline to draw; `to_asked_size` brings the pictures back to the sides asked."""
    width, height = (-(-side // multiple) * multiple for side in (request.width, request.height))
    if (width, height) == (request.width, request.height):
        return request
    return replace(request, width=width, height=height)


def to_asked_size(images: list[Image.Image], asked: RenderRequest) -> list[Image.Image]:
    """Pictures drawn on the grid (`on_grid`), resized (Lanczos) to `asked`'s sides; an inpaint's
    pixels outside the mask are then pasted back again, at the asked size, exactly."""
    size = (asked.width, asked.height)
    if all(image.size == size for image in images):
        return images
    resized = [image.resize(size, Image.Resampling.LANCZOS) for image in images]
    if asked.init is None or asked.mask is None:
        return resized
    fitted = fit_to_request(asked)
    assert fitted.init is not None and fitted.mask is not None
    return [paste_outside_mask(image, fitted.init.image, fitted.mask.image) for image in resized]


def paste_outside_mask(generated: Image.Image, original: Image.Image, mask: Image.Image) -> Image.Image:
    """`generated` where the mask is white, `original` where it is black, blended where it is grey
    (all three of one size; the mask greyscale)."""
    return Image.composite(generated.convert("RGB"), original, mask)


def _fit(image: Image.Image, mode: str, size: tuple[int, int], resample: Image.Resampling) -> Image.Image:
    converted = image if image.mode == mode else image.convert(mode)
    return converted if converted.size == size else converted.resize(size, resample)
