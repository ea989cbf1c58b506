"""Catalog entries in Leonardo's `custom_models` shapes (`/platformModels`, `/models/{id}`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, get_args

from sfumato.catalog import CatalogEntry
from sfumato.wire.enums import SdVersion

# What the SDKs can parse as `sdVersion` (Python SDK 6.x lacks KINO_2_0).
_EMITTABLE_SD_VERSIONS = frozenset(get_args(SdVersion)) - {"KINO_2_0"}
# Catalog rows have no creation time of their own; shipped ones report this fixed one.
_SHIPPED_CREATED_AT = "2024-06-01T00:00:00.000Z"


def _description(entry: CatalogEntry, installed: bool) -> str:
    weights = entry.weights.source
    return entry.face.description + ("" if installed else f" Not installed on this server (weights: {weights}).")


def platform_models(entries: Iterable[tuple[CatalogEntry, bool]]) -> dict[str, Any]:
    """The listed entries, each paired with whether its weights are installed here."""
    listed = [
        {
            "id": entry.id,
            "name": entry.name,
            "description": _description(entry, installed),
            "nsfw": entry.face.nsfw,
            "featured": entry.face.featured,
            "generated_image": None,
        }
        for entry, installed in entries
    ]
    return {"custom_models": listed}


def custom_model_by_pk(entry: CatalogEntry | None, installed: bool) -> dict[str, Any]:
    """One catalog entry as the spec's `custom_models_by_pk` object (every key present); null for an
    unknown id, as Leonardo answers for an unknown custom model."""
    if entry is None:
        return {"custom_models_by_pk": None}
    created = entry.face.created_at or _SHIPPED_CREATED_AT
    sd_version = entry.face.sd_version if entry.face.sd_version in _EMITTABLE_SD_VERSIONS else "v1_5"
    model = {
        "createdAt": created,
        "description": _description(entry, installed),
        "id": entry.id,
        "instancePrompt": None,
        "modelHeight": entry.face.native_height,
        "modelWidth": entry.face.native_width,
        "name": entry.name,
        "public": True,
        "sdVersion": sd_version,
        "status": "COMPLETE",
        "type": "GENERAL",
        "updatedAt": created,
    }
    return {"custom_models_by_pk": model}
