"""Finishing and style knobs: Alchemy's and Prompt Magic's options, PhotoReal, Ultra, contrast."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class FinishingRequest:
    """The knobs as sent (None: absent)."""

    high_resolution: bool | None = None
    ultra: bool | None = None
    upscale_ratio: float | None = None
    photo_real: bool | None = None
    photo_real_version: str | None = None
    photo_real_strength: float | None = None
    prompt_magic: bool | None = None
    prompt_magic_strength: float | None = None
    prompt_magic_version: str | None = None
    contrast: float | None = None
    contrast_ratio: float | None = None
    high_contrast: bool | None = None
    expanded_domain: bool | None = None
    fantasy_avatar: bool | None = None


@dataclass(frozen=True)
class FinishingPlan:
    """What the knobs resolved to: the techniques' numbers, and what the response echoes."""

    hires_scale: float | None = None
    hires_strength: float | None = None
    guidance_rescale: float = 0.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FinishingPlan:
        known = {field.name for field in fields(cls)}
        return cls(**{name: value for name, value in data.items() if name in known})
