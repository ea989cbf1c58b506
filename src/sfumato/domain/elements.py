"""Elements: LoRAs a generation applies with their weights (`elements[]`, `userElements[]`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ElementRef:
    """One requested element as sent: a catalog element by `ak_uuid`, or a user's by `user_lora_id`;
    `field` names the entry in errors (`elements[0]`, `userElements[1]`)."""

    ak_uuid: str | None
    user_lora_id: int | None
    weight: float | None
    field: str


@dataclass(frozen=True)
class ElementFace:
    """What a generation's `generation_elements[].lora` shows of an element: copied into the plan
    when the generation is made, so the record stays true if the catalog row changes or goes."""

    ak_uuid: str
    name: str
    description: str
    base_model: str
    url_image: str | None
    weight_default: int
    weight_min: int
    weight_max: int


@dataclass(frozen=True)
class ElementPlan:
    """One element of a plan: its catalog id, the weight applied (`weightApplied`) and its face."""

    element_id: str
    weight: float
    face: ElementFace | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ElementPlan:
        face = data.get("face")
        return cls(data["element_id"], data["weight"], ElementFace(**face) if isinstance(face, dict) else None)
