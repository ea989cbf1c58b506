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
class ElementPlan:
    """One element of a plan: its catalog id and the weight applied (`weightApplied`)."""

    element_id: str
    weight: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ElementPlan:
        return cls(**data)
