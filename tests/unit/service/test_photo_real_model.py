"""PhotoReal v1 (no modelId) draws with the catalog's photographic model: the first installed row
marked `photo_real = true`; with none installed, the model a request without modelId gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sfumato.catalog import TINY_MODEL_ID, CatalogEntry, ModelCatalog
from sfumato.domain.finishing import FinishingRequest, photo_real_v1
from sfumato.service.generations import GenerationService

MARKED = """
[[model]]
id = "0c6f4e2a-6d0e-4a57-9d5e-3b1f0d4a9e11"
name = "A photographic SDXL"
family = "sdxl"
repo = "example/photographic-xl"
sd_version = "SDXL_1_0"
native_width = 1024
native_height = 1024
default_steps = 30
default_guidance = 5.0
photo_real = true
"""


class FakeEngine:
    def __init__(self, installed: set[str]) -> None:
        self.installed = installed

    def is_installed(self, entry: CatalogEntry) -> bool:
        return entry.id in self.installed


def service(catalog: ModelCatalog, installed: set[str]) -> GenerationService:
    unused: Any = None  # photographic_model reads only the catalog and the engine
    return GenerationService(unused, catalog, FakeEngine(installed), unused, unused, lambda: None)


def test_the_first_installed_marked_row_serves_photo_real_v1(tmp_path: Path) -> None:
    operator = tmp_path / "operator.toml"
    operator.write_text(MARKED, encoding="utf-8")
    catalog = ModelCatalog.load(operator)
    [marked] = catalog.photographic()
    assert marked.face.photo_real and marked.to_row()["photo_real"] is True
    assert service(catalog, {marked.id or "", TINY_MODEL_ID}).photographic_model() == marked
    assert service(catalog, {TINY_MODEL_ID}).photographic_model() is None  # not installed: the usual model
    assert service(ModelCatalog.load(), {TINY_MODEL_ID}).photographic_model() is None  # the shipped rows mark none


def test_only_photo_real_v1_asks_for_it() -> None:
    assert photo_real_v1(FinishingRequest(photo_real=True), model_id_sent=False)
    assert photo_real_v1(FinishingRequest(photo_real=True, photo_real_version="v1"), model_id_sent=False)
    assert not photo_real_v1(FinishingRequest(photo_real=True), model_id_sent=True)
    assert not photo_real_v1(FinishingRequest(photo_real=True, photo_real_version="v2"), model_id_sent=False)
    assert not photo_real_v1(FinishingRequest(), model_id_sent=False)
