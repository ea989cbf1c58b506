"""The documented price model: credits for a generation, from its size and options.

Sfumato does not bill; the cost is reported because Leonardo's clients read
`apiCreditCost`/`cost` and budget with them. Per image: a base, plus a rate per megapixel,
times a multiplier when Alchemy is on. With the defaults, 4 images at 512x512 cost 8 credits
and at 1024x1024 13 (Leonardo documents 7 and 12 for SD 1.5); with Alchemy 19 and 31.
Variations (upscale, unzoom, background removal) have Leonardo's flat prices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sfumato.domain.variations import TransformType

# Leonardo's flat prices for post-processing jobs (its pricing docs), in credits.
VARIATION_CREDITS: dict[TransformType, int] = {
    TransformType.UPSCALE: 15,
    TransformType.UNZOOM: 15,
    TransformType.NOBG: 5,
}
# The universal upscaler: Leonardo prices it by the output's megapixels (its pricing calculator's
# `UNIVERSAL_UPSCALER.megapixel`) and publishes no rate; ours is the upscale's price per started
# output megapixel.
UNIVERSAL_UPSCALER_CREDITS_PER_MEGAPIXEL = 15


@dataclass(frozen=True)
class PriceModel:
    image_base: float
    per_megapixel: float
    alchemy_multiplier: float

    def credits(self, *, width: int, height: int, num_images: int, alchemy: bool) -> int:
        per_image = self.image_base + self.per_megapixel * (width * height) / 1_000_000
        if alchemy:
            per_image *= self.alchemy_multiplier
        return math.ceil(per_image * num_images)


def variation_credits(transform: TransformType, *, universal_output: tuple[int, int] | None = None) -> int:
    """A variation's price: flat per kind, or, for the universal upscaler, by its output's size."""
    if universal_output is not None:
        width, height = universal_output
        return UNIVERSAL_UPSCALER_CREDITS_PER_MEGAPIXEL * max(1, math.ceil(width * height / 1_000_000))
    return VARIATION_CREDITS[transform]
