"""`[[element]]` rows: LoRA files served as Leonardo Elements (`GET /elements`, `elements[]`, `userElements[]`).

A row is an auxiliary-model row (`id`, `name`, `description`, one of `repo` + `file` / `path` /
`builtin`) plus what Leonardo shows of an element: its `base_model` (Leonardo's `sd_versions`
enum), integer `weight_default`/`weight_min`/`weight_max`, `creator_name`, `url_image`. The `id`
is the element's `akUUID`, so a UUID. The family it applies to follows from `base_model`
(`family` overrides it). A user element (trained elsewhere, registered with `sfumato elements
add --user`) also has `user_id` and the integer `user_lora_id` that `userElements[]` and
`GET /elements/{id}` use; only its owner sees or applies it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from sfumato.catalog.aux_entries import AuxEntry
from sfumato.catalog.entries import CatalogFormatError

# Leonardo's `sd_versions` enum, as an element's `baseModel`, and the model family each names.
# KINO_2_0 is in the spec but not in the Python SDK's enum (which would drop the whole element):
# a row may not use it.
BASE_MODEL_FAMILIES = MappingProxyType(
    {
        "v1_5": "sd15",
        "v2": "sd2",
        "v3": "sd3",
        "SDXL_0_8": "sdxl",
        "SDXL_0_9": "sdxl",
        "SDXL_1_0": "sdxl",
        "SDXL_LIGHTNING": "sdxl",
        "PHOENIX": "flux",
        "FLUX": "flux",
        "FLUX_DEV": "flux",
    }
)
# The training resolution `GET /elements/{id}` reports: the base model's native side.
_RESOLUTIONS = MappingProxyType({"v1_5": 512, "v2": 768})
_DEFAULT_RESOLUTION = 1024
FOCUSES = ("General", "Character", "Style", "Object")
_INTEGER_KEYS = ("weight_default", "weight_min", "weight_max", "user_lora_id")


@dataclass(frozen=True)
class ElementEntry(AuxEntry):
    """One LoRA element; see the module doc for the row's keys."""

    KIND: ClassVar[str] = "element"
    base_model: str
    family: str | None = None
    weight_default: int = 1
    weight_min: int = -1
    weight_max: int = 2
    creator_name: str = "Sfumato"
    url_image: str | None = None
    user_id: str | None = None
    user_lora_id: int | None = None
    created_at: str | None = None
    instance_prompt: str | None = None
    focus: str = "General"
    train_text_encoder: bool = False

    def __post_init__(self) -> None:
        try:
            uuid.UUID(self.id)
        except ValueError:
            raise CatalogFormatError(f"element id {self.id!r} is not a UUID (it is the element's akUUID)") from None
        if not self.weight_min <= self.weight_default <= self.weight_max:
            raise CatalogFormatError(
                f"needs weight_min <= weight_default <= weight_max (got {self.weight_min}, "
                f"{self.weight_default}, {self.weight_max})"
            )
        if (self.user_id is None) != (self.user_lora_id is None):
            raise CatalogFormatError("'user_id' and 'user_lora_id' go together: a user element has both")

    @classmethod
    def _value(cls, key: str, value: Any) -> Any:
        if key == "base_model" and value not in BASE_MODEL_FAMILIES:
            raise CatalogFormatError(f"'base_model' must be one of {', '.join(BASE_MODEL_FAMILIES)} (got {value!r})")
        if key in _INTEGER_KEYS and not (isinstance(value, int) and not isinstance(value, bool)):
            raise CatalogFormatError(f"{key!r} must be a whole number, as Leonardo's elements have (got {value!r})")
        if key == "user_lora_id" and value < 1:
            raise CatalogFormatError(f"'user_lora_id' must be 1 or more (got {value!r})")
        if key == "focus" and value not in FOCUSES:
            raise CatalogFormatError(f"'focus' must be one of {', '.join(FOCUSES)} (got {value!r})")
        if key == "train_text_encoder" and not isinstance(value, bool):
            raise CatalogFormatError(f"'train_text_encoder' must be true or false (got {value!r})")
        return value

    @property
    def applies_to(self) -> str:
        """The model family (a family's LoRA family, as SDXL-Lightning's is sdxl) it applies to."""
        return self.family or BASE_MODEL_FAMILIES[self.base_model]

    @property
    def resolution(self) -> int:
        return _RESOLUTIONS.get(self.base_model, _DEFAULT_RESOLUTION)

    @property
    def is_user_element(self) -> bool:
        """A user's own (only its owner sees or applies it), not the catalog's."""
        return self.user_id is not None
