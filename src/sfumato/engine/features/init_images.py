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


def paste_outside_mask(generated: Image.Image, original: Image.Image, mask: Image.Image) -> Image.Image:
    """`generated` where the mask is white, `original` where it is black, blended where it is grey
    (all three of one size; the mask greyscale)."""
    return Image.composite(generated.convert("RGB"), original, mask)


def _fit(image: Image.Image, mode: str, size: tuple[int, int], resample: Image.Resampling) -> Image.Image:
    converted = image if image.mode == mode else image.convert(mode)
    return converted if converted.size == size else converted.resize(size, resample)
