"""Image guidance: `controlnets[]` (and the legacy `controlNet` fields), and image references.

Leonardo's `preprocessorId` says both what guides the picture (an edge map, a depth map, a pose,
or, for Style, Character and Content Reference, the picture as a reference) and for which base
model. ControlNet kinds become `ControlPlan`s (a ControlNet per kind, engine side); the reference
kinds and `imagePrompts` become `ReferencePlan`s (an IP-Adapter, engine side).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sfumato.domain.image_inputs import ImageRef


@dataclass(frozen=True)
class ControlnetRef:
    """One `controlnets[]` entry as sent (the legacy `controlNet` fields map onto one too)."""

    image: ImageRef
    preprocessor_id: int
    weight: float | None = None
    strength_type: str | None = None
    influence: float | None = None


@dataclass(frozen=True)
class ControlPlan:
    """One ControlNet of a plan: what the source becomes (`kind`, the engine's `ControlGuide.kind`),
    Leonardo's id for it, the stored source image and the conditioning scale."""

    kind: str
    preprocessor_id: int
    image_key: str
    weight: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ControlPlan:
        return cls(**data)


@dataclass(frozen=True)
class ReferencePlan:
    """One IP-Adapter reference of a plan: "style", "character", "content" or "image" (an image
    prompt), the stored picture, the adapter scale, and Leonardo's id when a controlnet sent it."""

    kind: str
    image_key: str
    weight: float
    preprocessor_id: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReferencePlan:
        return cls(**data)
