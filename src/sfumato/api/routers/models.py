"""`/platformModels` and `/models/{id}`: the catalog in Leonardo's `custom_models` shapes."""

from __future__ import annotations

from typing import Any, get_args

from fastapi import APIRouter

from sfumato.api.deps import ContainerDep, KeyDep, checked_uuid
from sfumato.api.responses import LeonardoJSON
from sfumato.catalog import CatalogEntry
from sfumato.wire.enums import SdVersion

router = APIRouter(tags=["models"])

# What the SDKs can parse as `sdVersion` (Python SDK 6.x lacks KINO_2_0).
_EMITTABLE_SD_VERSIONS = frozenset(get_args(SdVersion)) - {"KINO_2_0"}
# Catalog rows have no creation time of their own; shipped ones report this fixed one.
_SHIPPED_CREATED_AT = "2024-06-01T00:00:00.000Z"


def _description(entry: CatalogEntry, installed: bool) -> str:
    return entry.description + ("" if installed else f" Not installed on this server (weights: {entry.source}).")


@router.get("/platformModels")
def list_platform_models(_key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    listed = []
    for entry in container.catalog.listed():
        listed.append(
            {
                "id": entry.id,
                "name": entry.name,
                "description": _description(entry, container.engine.is_installed(entry)),
                "nsfw": entry.nsfw,
                "featured": entry.featured,
                "generated_image": None,
            }
        )
    return LeonardoJSON({"custom_models": listed})


def custom_model_by_pk(entry: CatalogEntry, installed: bool) -> dict[str, Any]:
    """One catalog entry as the spec's `custom_models_by_pk` object (every key present)."""
    created = entry.created_at or _SHIPPED_CREATED_AT
    sd_version = entry.sd_version if entry.sd_version in _EMITTABLE_SD_VERSIONS else "v1_5"
    return {
        "createdAt": created,
        "description": _description(entry, installed),
        "id": entry.id,
        "instancePrompt": None,
        "modelHeight": entry.native_height,
        "modelWidth": entry.native_width,
        "name": entry.name,
        "public": True,
        "sdVersion": sd_version,
        "status": "COMPLETE",
        "type": "GENERAL",
        "updatedAt": created,
    }


@router.get("/models/{id}")
def get_model(id: str, _key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    """A platform model by id; null for an unknown one, as Leonardo answers for an unknown custom model."""
    entry = container.catalog.get(checked_uuid(id))
    if entry is None:
        return LeonardoJSON({"custom_models_by_pk": None})
    return LeonardoJSON(
        {"custom_models_by_pk": custom_model_by_pk(entry, container.engine.is_installed(entry))}
    )
