"""The documented price model: credits for a generation, from its size and options.

Sfumato does not bill; the cost is reported because Leonardo's clients read
`apiCreditCost`/`cost` and budget with them. Per image: a base, plus a rate per megapixel drawn
(a second pass counts again), plus a rate per LoRA element, times a multiplier when Alchemy is on;
then whole credits per guidance input (`PriceModel`). With the defaults, 4 images at 512x512 cost
8 credits and at 1024x1024 13 (Leonardo documents 7 and 12 for SD 1.5); with Alchemy 19 and 31.
Variations (upscale, unzoom, background removal) have Leonardo's flat prices. The pricing
calculator (`quoted_credits`) answers from the same model (docs/knobs.md "Cost").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sfumato.domain.variations import TransformType

if TYPE_CHECKING:
    from sfumato.domain.generation import GenerationPlan

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
    """Credits per image: `image_base` + `per_megapixel` for every megapixel drawn (a second pass,
    the hi-res fix or a refine pass, draws its output size again) + `per_element` for each LoRA element, times
    `alchemy_multiplier` with Alchemy; rounded up over the images. Each guidance input (ControlNet
    or image reference) adds a whole `per_guide` per image after rounding, which is what the
    pricing calculator's `controlnetsCost` carries. Never lower for more of anything."""

    image_base: float
    per_megapixel: float
    alchemy_multiplier: float
    per_element: float = 0.5
    per_guide: int = 1

    def credits(
        self,
        *,
        width: int,
        height: int,
        num_images: int,
        alchemy: bool,
        elements: int = 0,
        guides: int = 0,
        second_pass: tuple[int, int] | None = None,
    ) -> int:
        """A generation's price; `second_pass` is the size a second pass draws at, if one runs."""
        return self.image_credits(
            width=width, height=height, num_images=num_images, alchemy=alchemy, elements=elements,
            second_pass=second_pass,
        ) + self.guides_credits(guides, num_images)  # fmt: skip

    def plan_credits(self, plan: GenerationPlan) -> int:
        """What a resolved generation costs (its `apiCreditCost`)."""
        finishing = plan.finishing
        second = finishing.output_size(plan.width, plan.height) if finishing.hires_scale is not None else None
        return self.credits(
            width=plan.width, height=plan.height, num_images=plan.num_images, alchemy=plan.alchemy,
            elements=len(plan.elements), guides=len(plan.controls) + len(plan.references), second_pass=second,
        )  # fmt: skip

    def image_credits(
        self,
        *,
        width: int,
        height: int,
        num_images: int,
        alchemy: bool,
        elements: int = 0,
        second_pass: tuple[int, int] | None = None,
    ) -> int:
        """The price without guidance inputs."""
        megapixels = width * height / 1_000_000
        if second_pass is not None:
            megapixels += second_pass[0] * second_pass[1] / 1_000_000
        per_image = self.image_base + self.per_megapixel * megapixels + self.per_element * elements
        if alchemy:
            per_image *= self.alchemy_multiplier
        return math.ceil(per_image * num_images)

    def guides_credits(self, guides: int, num_images: int) -> int:
        """What `guides` ControlNets and image references add to a generation of `num_images`."""
        return self.per_guide * guides * num_images


def variation_credits(transform: TransformType, *, universal_output: tuple[int, int] | None = None) -> int:
    """A variation's price: flat per kind, or, for the universal upscaler, by its output's size."""
    if universal_output is not None:
        width, height = universal_output
        return universal_upscaler_credits(width * height / 1_000_000)
    return VARIATION_CREDITS[transform]


def universal_upscaler_credits(megapixels: float) -> int:
    """The universal upscaler's price for an output of `megapixels`: per started megapixel, at least one."""
    return UNIVERSAL_UPSCALER_CREDITS_PER_MEGAPIXEL * max(1, math.ceil(megapixels))


# --- `POST /pricing-calculator`: the same prices, asked about ahead of a request ---


@dataclass(frozen=True)
class GenerationQuote:
    """The calculator's IMAGE_GENERATION (and FANTASY_AVATAR_GENERATION) parameters, resolved:
    `guides_cost` is its `controlnetsCost` (credits, as `PriceModel.guides_credits` gives them)."""

    width: int
    height: int
    num_images: int
    alchemy: bool
    elements: int = 0
    guides_cost: int = 0
    second_pass: tuple[int, int] | None = None


@dataclass(frozen=True)
class UpscalerQuote:
    """The calculator's UNIVERSAL_UPSCALER parameters: the output's size."""

    megapixels: float


PriceQuery = GenerationQuote | UpscalerQuote


def quoted_credits(prices: PriceModel, query: PriceQuery) -> int:
    """What the calculator answers: exactly what the request it describes is charged."""
    if isinstance(query, UpscalerQuote):
        return universal_upscaler_credits(query.megapixels)
    return prices.image_credits(
        width=query.width, height=query.height, num_images=query.num_images, alchemy=query.alchemy,
        elements=query.elements, second_pass=query.second_pass,
    ) + query.guides_cost  # fmt: skip
