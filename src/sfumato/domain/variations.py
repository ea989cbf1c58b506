"""Variations: Leonardo's post-processing jobs on a finished picture (upscale, unzoom, background
removal), their kinds, what a request for one names, and the plan a variation's job runs.

A variation starts from a generated image of the caller's, or (`isVariation: true`, a variation's
`variationId`) from the output of one of the caller's finished variations; either way it belongs
to the generated image the chain started from, and is listed under it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any


class TransformType(StrEnum):
    """Leonardo's closed `VARIATION_TYPE` enum: the only values a variation's `transformType` shows
    (the SDKs reject any other). The universal upscaler's results are UPSCALE, as the enum has no
    value of its own for them."""

    OUTPAINT = "OUTPAINT"
    INPAINT = "INPAINT"
    UPSCALE = "UPSCALE"
    UNZOOM = "UNZOOM"
    NOBG = "NOBG"


# `POST /variations/upscale`: both sides twice as long.
UPSCALE_FACTOR = 2.0
# `POST /variations/universal-upscaler`'s `upscaleMultiplier`: Leonardo's range and default.
UNIVERSAL_MULTIPLIER_MIN, UNIVERSAL_MULTIPLIER_MAX = 1.0, 2.0
UNIVERSAL_MULTIPLIER_DEFAULT = 1.5
# `POST /variations/unzoom`: the canvas grows by half of each side (a quarter on every edge), rounded
# up to the engine's canvas multiple, and the margin is painted from noise (diffusers' strength 1).
UNZOOM_AMOUNT = 0.5
UNZOOM_STRENGTH = 1.0
# The largest picture a variation may make: Leonardo's universal upscaler's limit, for every kind
# (chained variations would otherwise grow without bound).
MAX_VARIATION_PIXELS = 20_000_000


@dataclass(frozen=True)
class VariationSource:
    """The picture a variation starts from, as the request names it: a generated image's id, or
    (`is_variation`) a variation's, with the Leonardo field that named it (for its errors)."""

    id: str
    is_variation: bool
    field: str


@dataclass(frozen=True)
class VariationRequest:
    """One variation as a client asks for it; `multiplier` is an UPSCALE's (the output's sides are
    the source's times it), `universal` marks the universal upscaler's (priced by output size)."""

    transform: TransformType
    source: VariationSource
    multiplier: float | None = None
    universal: bool = False


def upscaled_size(width: int, height: int, multiplier: float) -> tuple[int, int]:
    """The size of a `multiplier` times upscale, each side rounded to the nearest pixel."""
    return max(1, round(width * multiplier)), max(1, round(height * multiplier))


@dataclass(frozen=True)
class VariationPlan:
    """What a variation's job runs, stored as JSON on the variation (`params`): the stored key of
    its source picture, and the transform's own numbers. Read tolerantly like `GenerationPlan`:
    keys this release does not know are ignored, fields added later have defaults."""

    source_key: str
    source_variation_id: str | None = None
    multiplier: float | None = None
    universal: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VariationPlan:
        known = {field.name for field in fields(cls)}
        return cls(**{name: value for name, value in data.items() if name in known})

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """An UPSCALE's output size for a source of `width` x `height`."""
        return upscaled_size(width, height, self.multiplier if self.multiplier is not None else UPSCALE_FACTOR)

    @property
    def network_scale(self) -> int:
        """The whole factor the upscaler is asked for: the multiplier rounded up (its output is
        then resized to the asked size)."""
        return max(1, math.ceil(self.multiplier if self.multiplier is not None else UPSCALE_FACTOR))
