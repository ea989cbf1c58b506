"""The engine's door with the model families behind it: POST-time checks and traits by a catalog
row's family (torch-free), and a render of the built-in model through `Engine.render`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sfumato.catalog import TINY_MODEL_ID, CatalogEntry, ModelCatalog
from sfumato.config import EngineSettings
from sfumato.engine import Engine
from sfumato.errors import GENERATION_ARGS_PATH, ClientError, NotSupported
from tests.support.render_requests import tiny_render

CATALOG = ModelCatalog.load()
FLUX_SCHNELL = "1dd50843-d653-4516-a8e3-f0238ee453ff"
REQUEST = tiny_render(scheduler="DDIM")  # the door's wiring, not picture quality


def row(model_id: str) -> CatalogEntry:
    entry = CATALOG.get(model_id)
    assert entry is not None
    return entry


def test_check_applies_the_rows_family_rules(tmp_path: Path) -> None:
    engine = Engine(EngineSettings(), tmp_path)
    engine.check(row(TINY_MODEL_ID), REQUEST)  # SD 1.5 takes DDIM
    with pytest.raises(NotSupported) as refused:
        engine.check(row(FLUX_SCHNELL), REQUEST)
    assert refused.value.path == f"{GENERATION_ARGS_PATH}.scheduler" and "flux" in refused.value.message


def test_a_row_of_an_unregistered_family_is_refused_naming_the_model(tmp_path: Path) -> None:
    cascade = CatalogEntry.from_row({**row(TINY_MODEL_ID).to_row(), "family": "sd-cascade", "name": "Cascade"})
    engine = Engine(EngineSettings(), tmp_path)
    for ask in (lambda: engine.check(cascade, REQUEST), lambda: Engine.traits(cascade)):
        with pytest.raises(ClientError) as refused:
            ask()
        assert refused.value.path == f"{GENERATION_ARGS_PATH}.modelId"
        assert "'sd-cascade'" in refused.value.message and "Cascade" in refused.value.message


def test_traits_are_the_rows_familys() -> None:
    flux, tiny = Engine.traits(row(FLUX_SCHNELL)), Engine.traits(row(TINY_MODEL_ID))
    assert (flux.seed_max, flux.style_negative_terms) == (2_147_483_637, False)
    assert (tiny.seed_max, tiny.style_negative_terms) == (2**32 - 1, True)


def test_the_built_in_model_renders_through_the_door(tmp_path: Path) -> None:
    steps: list[tuple[int, int]] = []
    images = Engine(EngineSettings(device="cpu"), tmp_path).render(
        row(TINY_MODEL_ID), REQUEST, lambda done, total: steps.append((done, total))
    )
    assert [image.size for image in images] == [(32, 32)] and np.asarray(images[0]).std() > 0
    assert steps == [(1, 2), (2, 2)]
