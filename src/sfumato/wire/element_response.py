"""Elements as Leonardo's JSON: `GET /elements`' `loras`, the `user_loras` of a user's elements, and a
generation's `generation_elements`. Every spec key present; weights are integers; `baseModel` never null."""

from __future__ import annotations

import uuid
from typing import Any

from sfumato.catalog import ElementEntry
from sfumato.domain.elements import ElementFace, ElementPlan
from sfumato.domain.status import GenerationStatus

# A generation element's `id` (a bigint in Leonardo): the generation id's top bits and the
# element's position, so it is stable and stays below 2**53 (exact in JavaScript numbers).
_POSITION_BITS = 6
_ID_BITS = 52


def lora(entry: ElementEntry) -> dict[str, Any]:
    """One of `GET /elements`' `loras`."""
    return {
        "akUUID": entry.id,
        "baseModel": entry.base_model,
        "creatorName": entry.creator_name,
        "description": entry.face.description,
        "name": entry.name,
        "urlImage": entry.url_image,
        "weightDefault": entry.weight_default,
        "weightMax": entry.weight_max,
        "weightMin": entry.weight_min,
    }


def list_elements(entries: list[ElementEntry]) -> dict[str, Any]:
    return {"loras": [lora(entry) for entry in entries]}


def user_lora(entry: ElementEntry) -> dict[str, Any]:
    """A user element as `user_loras` shows it. Registered, not trained here: COMPLETE, trained for
    0 epochs at learning rate 0 (docs/elements.md)."""
    assert entry.user_lora_id is not None
    return {
        "baseModel": entry.base_model,
        "createdAt": entry.created_at,
        "description": entry.face.description,
        "focus": entry.focus,
        "id": entry.user_lora_id,
        "instancePrompt": entry.instance_prompt,
        "learningRate": 0.0,
        "name": entry.name,
        "resolution": entry.resolution,
        "status": GenerationStatus.COMPLETE,
        "trainTextEncoder": entry.train_text_encoder,
        "trainingEpoch": 0,
        "updatedAt": entry.created_at,
    }


def user_loras_by_pk(entry: ElementEntry | None) -> dict[str, Any]:
    """`GET /elements/{id}`: null for an unknown id (or someone else's)."""
    return {"user_loras_by_pk": user_lora(entry) if entry is not None else None}


def user_loras(entries: list[ElementEntry]) -> dict[str, Any]:
    """`GET /elements/user/{userId}`."""
    return {"user_loras": [user_lora(entry) for entry in entries]}


def _face_to_wire(face: ElementFace) -> dict[str, Any]:
    return {
        "akUUID": face.ak_uuid,
        "baseModel": face.base_model,
        "description": face.description,
        "name": face.name,
        "urlImage": face.url_image,
        "weightDefault": face.weight_default,
        "weightMax": face.weight_max,
        "weightMin": face.weight_min,
    }


def generation_elements(generation_id: str, elements: tuple[ElementPlan, ...]) -> list[dict[str, Any]]:
    """A generation's `generation_elements`: one per element applied, in order, with `weightApplied`."""
    if not elements:
        return []
    top = uuid.UUID(generation_id).int >> (128 - (_ID_BITS - _POSITION_BITS))
    return [
        {
            "id": (top << _POSITION_BITS) + position,
            "lora": _face_to_wire(element.face) if element.face is not None else None,
            "weightApplied": element.weight,
        }
        for position, element in enumerate(elements)
    ]
