"""`/platformModels` and `/models/{id}`: the catalog in Leonardo's `custom_models` shapes."""

from __future__ import annotations

from fastapi import APIRouter

from sfumato.api.deps import ContainerDep, KeyDep, checked_uuid
from sfumato.api.responses import LeonardoJSON
from sfumato.wire.model_response import custom_model_by_pk, platform_models

router = APIRouter(tags=["models"])


@router.get("/platformModels")
def list_platform_models(_key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    listed = container.catalog.listed()
    return LeonardoJSON(platform_models((entry, container.engine.is_installed(entry)) for entry in listed))


@router.get("/models/{id}")
def get_model(id: str, _key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    """A platform model by id; null for an unknown one."""
    entry = container.catalog.get(checked_uuid(id))
    installed = entry is not None and container.engine.is_installed(entry)
    return LeonardoJSON(custom_model_by_pk(entry, installed))
