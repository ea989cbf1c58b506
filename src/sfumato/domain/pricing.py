"""The documented price model: credits for a generation, from its size and options.

Sfumato does not bill; the cost is reported because Leonardo's clients read
`apiCreditCost`/`cost` and budget with them. Per image: a base, plus a rate per megapixel,
times a multiplier when Alchemy is on. With the defaults, 4 images at 512x512 cost 8 credits
and at 1024x1024 13 (Leonardo documents 7 and 12 for SD 1.5); with Alchemy 19 and 31.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


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
