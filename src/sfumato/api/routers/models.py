"""`/platformModels`: the catalog in Leonardo's `custom_models` shape."""

from __future__ import annotations

from fastapi import APIRouter

from sfumato.api.deps import ContainerDep, KeyDep
from sfumato.api.responses import LeonardoJSON

router = APIRouter(tags=["models"])


@router.get("/platformModels")
def list_platform_models(_key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    models_dir = container.settings.models_dir
    listed = []
    for entry in container.catalog.listed():
        installed = entry.is_installed(models_dir)
        listed.append(
            {
                "id": entry.id,
                "name": entry.name,
                "description": entry.description
                + ("" if installed else f" Not installed on this server (weights: {entry.source})."),
                "nsfw": entry.nsfw,
                "featured": entry.featured,
                "generated_image": None,
            }
        )
    return LeonardoJSON({"custom_models": listed})
