"""Elements as a generation records them: the catalog row's face, copied into the plan."""

from __future__ import annotations

from sfumato.catalog import ElementEntry
from sfumato.domain.elements import ElementFace


def element_face(entry: ElementEntry) -> ElementFace:
    """What `generation_elements[].lora` shows of `entry`, as it is now."""
    return ElementFace(
        ak_uuid=entry.id,
        name=entry.name,
        description=entry.face.description,
        base_model=entry.base_model,
        url_image=entry.url_image,
        weight_default=entry.weight_default,
        weight_min=entry.weight_min,
        weight_max=entry.weight_max,
    )
