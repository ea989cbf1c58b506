"""LoRA elements on Sfumato Tiny (and the tiny SDXL and FLUX): weight 0 draws the base model's pixels
exactly, weight 1 changes them, two apply at once (a kohya-format file among them), nothing stays
active after the call, the least recently used adapter leaves at the cap, fused QKV projections are
unfused first, and an element whose file is absent is refused at POST."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sfumato.catalog import AuxFace, AuxWeights, ElementEntry, ModelCatalog
from sfumato.engine.auxiliary import AuxiliaryModels
from sfumato.engine.features import lora as lora_feature
from sfumato.engine.renderer import Renderer
from sfumato.engine.request import LoraWeight
from sfumato.engine.weights.loaders import ModelSource
from sfumato.engine.weights.tiny import ensure_tiny_model
from sfumato.errors import NotSupported
from tests.support.loras import diffusers_lora, family_lora, kohya_lora
from tests.support.render_requests import tiny_render

BUILTIN = "33c0cdca-793a-4abb-8634-f9f8a68b47bf"  # the shipped catalog's built-in tiny element
KOHYA = "0b7d7a52-5f0e-4c4e-9d55-3f1f6c1b2a01"
THIRD = "6a1c3e2f-9b8d-4f70-8e21-5c4d3b2a1f00"
BASE = tiny_render(width=32, height=32, seed=11)


def _element(element_id: str, path: Path) -> ElementEntry:
    face = AuxFace(id=element_id, name=element_id[:4])
    return ElementEntry(face=face, weights=AuxWeights(path=str(path)), base_model="v1_5")


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    root = tmp_path_factory.mktemp("lora")
    catalog = ModelCatalog.load()
    catalog.elements[KOHYA] = _element(KOHYA, kohya_lora(root / "kohya.safetensors", seed=5))
    catalog.elements[THIRD] = _element(THIRD, diffusers_lora(root / "third", seed=6))
    return Renderer(auxiliary=AuxiliaryModels(catalog, root / "models", lambda: "cpu", 1))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> ModelSource:
    return ModelSource.from_folder(ensure_tiny_model(tmp_path_factory.mktemp("models") / "sfumato-tiny"))


def _draw(renderer: Renderer, source: ModelSource, *loras: tuple[str, float]) -> np.ndarray:
    request = replace(BASE, loras=tuple(LoraWeight(i, w) for i, w in loras))
    return np.asarray(renderer.render(source, request)[0]).astype(np.int16)


def test_weight_zero_is_the_base_weight_one_differs_and_nothing_stays_active(
    renderer: Renderer, tiny: ModelSource
) -> None:
    base = _draw(renderer, tiny)
    assert np.array_equal(_draw(renderer, tiny, (BUILTIN, 0.0)), base)
    with_element = _draw(renderer, tiny, (BUILTIN, 1.0))
    assert np.abs(with_element - base).mean() > 1
    assert np.array_equal(_draw(renderer, tiny), base)  # the adapter is still loaded, but disabled
    assert lora_feature.adapter_name(BUILTIN) in lora_feature.loaded_adapters(renderer._model(tiny))
    assert np.array_equal(_draw(renderer, tiny, (BUILTIN, 1.0)), with_element)  # and comes back the same


def test_two_elements_apply_at_once_each_at_its_weight(renderer: Renderer, tiny: ModelSource) -> None:
    base = _draw(renderer, tiny)
    one = _draw(renderer, tiny, (BUILTIN, 1.0))
    kohya = _draw(renderer, tiny, (KOHYA, 1.0))
    both = _draw(renderer, tiny, (BUILTIN, 1.0), (KOHYA, 1.0))
    assert not np.array_equal(kohya, base)
    assert not np.array_equal(both, one) and not np.array_equal(both, kohya)
    assert np.array_equal(_draw(renderer, tiny, (BUILTIN, 1.0), (KOHYA, 0.0)), one)
    assert np.array_equal(_draw(renderer, tiny), base)


def test_the_least_recently_used_adapter_leaves_when_the_cap_is_reached(
    renderer: Renderer, tiny: ModelSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = _draw(renderer, tiny)
    monkeypatch.setattr(lora_feature, "MAX_LOADED", 2)
    _draw(renderer, tiny, (BUILTIN, 1.0))
    _draw(renderer, tiny, (KOHYA, 1.0))
    third = _draw(renderer, tiny, (THIRD, 1.0))
    loaded = lora_feature.loaded_adapters(renderer._model(tiny))
    assert loaded == [lora_feature.adapter_name(KOHYA), lora_feature.adapter_name(THIRD)]
    assert np.array_equal(_draw(renderer, tiny, (THIRD, 1.0)), third)
    assert np.array_equal(_draw(renderer, tiny), base)


def test_fused_qkv_projections_are_unfused_so_the_adapters_take_part(
    renderer: Renderer, tiny: ModelSource, tmp_path: Path
) -> None:
    """On CUDA the renderer fuses QKV projections, which would bypass adapters on `to_q`/`to_k`/`to_v`."""
    fused = Renderer(auxiliary=AuxiliaryModels(ModelCatalog.load(), tmp_path / "models", lambda: "cpu", 1))
    fused._model(tiny).base.unet.fuse_qkv_projections()
    with_element = _draw(fused, tiny, (BUILTIN, 1.0))
    processors = fused._model(tiny).base.unet.attn_processors.values()
    assert all(type(processor).__name__ != "FusedAttnProcessor2_0" for processor in processors)
    assert np.array_equal(with_element, _draw(renderer, tiny, (BUILTIN, 1.0)))  # as on a never-fused model
    assert np.array_equal(_draw(fused, tiny), _draw(renderer, tiny))


def test_an_element_whose_file_is_absent_is_refused_at_post(tmp_path: Path) -> None:
    catalog = ModelCatalog.load()
    catalog.elements[KOHYA] = _element(KOHYA, tmp_path / "absent.safetensors")
    auxiliary = AuxiliaryModels(catalog, tmp_path, lambda: "cpu", 1)
    auxiliary.check_loras(replace(BASE, loras=(LoraWeight(BUILTIN, 1.0),)))  # built in: built on first use
    with pytest.raises(NotSupported, match="sfumato models pull") as raised:
        auxiliary.check_loras(replace(BASE, loras=(LoraWeight(KOHYA, 1.0),)))
    assert raised.value.path.endswith(".elements")


@pytest.mark.parametrize("family", ["sdxl", "flux"])
def test_other_families_take_elements_the_same_way(models: dict[str, ModelSource], family: str, tmp_path: Path) -> None:
    catalog = ModelCatalog.load()
    catalog.elements[KOHYA] = _element(KOHYA, family_lora(family, tmp_path / "lora", seed=9))
    renderer = Renderer(auxiliary=AuxiliaryModels(catalog, tmp_path / "models", lambda: "cpu", 1))
    source = models[family]
    base = _draw(renderer, source)
    assert np.array_equal(_draw(renderer, source, (KOHYA, 0.0)), base)
    assert not np.array_equal(_draw(renderer, source, (KOHYA, 1.0)), base)
    assert np.array_equal(_draw(renderer, source), base)
