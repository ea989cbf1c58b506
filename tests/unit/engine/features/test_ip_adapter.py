"""IP-Adapter image references on the tiny models: scale 0 draws exactly the base pixels, a
reference changes them, several run at once, nothing stays loaded for the next request; FLUX
Kontext takes its reference as the context image; families without an adapter refuse by field."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sfumato.catalog import TINY_MODEL_ID, IpAdapterEntry, ModelCatalog
from sfumato.config import EngineSettings
from sfumato.engine import Engine
from sfumato.engine.auxiliary import AuxiliaryModels
from sfumato.engine.errors import EngineConfigError
from sfumato.engine.families import family_of
from sfumato.engine.renderer import Renderer
from sfumato.engine.request import ImageReference
from sfumato.engine.weights.loaders import ModelSource
from sfumato.engine.weights.tiny_ip_adapter import adapter_folder
from sfumato.errors import NotSupported
from tests.support.images import picture
from tests.support.render_requests import tiny_render
from tests.support.tiny_families import build_tiny_family_pipeline

BASE = tiny_render(width=32, height=32, seed=5)
OTHER = Image.new("RGB", (32, 32), (200, 30, 90))


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    """A renderer whose catalog has the shipped built-in adapter (sd15) and tiny SDXL and FLUX ones."""
    models_dir = tmp_path_factory.mktemp("aux-models")
    catalog = ModelCatalog.load()
    for family in ("sdxl", "flux"):
        pipe = build_tiny_family_pipeline(family)
        folder = models_dir / f"ip-{family}"
        adapter_folder(pipe.unet if family == "sdxl" else pipe.transformer).save_pretrained(folder)
        row = {"id": f"tiny-ip-{family}", "name": f"tiny {family}", "family": family,
               "path": str(folder / "ip-adapter.safetensors"),
               "image_encoder": str(folder / "image_encoder")}  # fmt: skip
        catalog.ip_adapters[row["id"]] = IpAdapterEntry.from_row(row)
    return Renderer(auxiliary=AuxiliaryModels(catalog, models_dir, lambda: "cpu", None))


def _reference() -> Image.Image:
    return picture((48, 40))


def pixels(renderer: Renderer, source: ModelSource, *references: ImageReference) -> np.ndarray:
    return np.asarray(renderer.render(source, replace(BASE, references=references))[0]).astype(np.int16)


@pytest.mark.parametrize("family", ["sd15", "sdxl", "flux"])
def test_scale_zero_is_the_base_and_a_reference_changes_the_pixels(
    renderer: Renderer, models: dict[str, ModelSource], family: str
) -> None:
    source = models[family]
    base = pixels(renderer, source)
    assert np.array_equal(pixels(renderer, source, ImageReference("image", _reference(), 0.0)), base)
    referenced = pixels(renderer, source, ImageReference("image", _reference(), 1.0))
    assert np.abs(referenced - base).mean() > 1
    assert np.array_equal(pixels(renderer, source), base)  # nothing stayed loaded


def test_several_references_at_once_each_count(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    source = models["sd15"]
    one = pixels(renderer, source, ImageReference("image", _reference(), 1.0))
    two = pixels(renderer, source, ImageReference("image", _reference(), 1.0),
                 ImageReference("content", OTHER, 0.8))  # fmt: skip
    same_as_one = pixels(renderer, source, ImageReference("image", _reference(), 1.0),
                         ImageReference("style", OTHER, 0.0))  # fmt: skip
    assert not np.array_equal(one, two)
    assert np.array_equal(one, same_as_one)  # a second adapter at scale 0 adds nothing


def test_sdxl_style_conditions_only_the_style_block(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    source = models["sdxl"]
    base = pixels(renderer, source)
    style = pixels(renderer, source, ImageReference("style", _reference(), 1.0))
    plain = pixels(renderer, source, ImageReference("image", _reference(), 1.0))
    assert not np.array_equal(style, base)
    assert not np.array_equal(style, plain)


def test_kontext_draws_from_the_reference_as_its_context(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    source = models["flux-kontext"]
    base = pixels(renderer, source)
    assert np.array_equal(pixels(renderer, source, ImageReference("style", _reference(), 0.0)), base)
    # Random weights attend to the context tokens only a little: the pixels move, by a few levels.
    assert not np.array_equal(pixels(renderer, source, ImageReference("style", _reference(), 0.6)), base)
    with pytest.raises(NotSupported) as raised:
        family_of("flux-kontext").check(
            replace(
                BASE, references=(ImageReference("style", _reference(), 1), ImageReference("image", _reference(), 1))
            )
        )
    assert raised.value.path.endswith(".imagePrompts") and "one reference" in raised.value.message


@pytest.mark.parametrize(
    ("family", "kind", "field"), [("sd3", "image", "imagePrompts"), ("sd2", "style", "controlnets")]
)
def test_families_without_an_adapter_refuse_by_field(family: str, kind: str, field: str) -> None:
    with pytest.raises(NotSupported) as raised:
        family_of(family).check(replace(BASE, references=(ImageReference(kind, _reference(), 1.0),)))
    assert raised.value.path.endswith(f".{field}")
    assert "references are not supported" in raised.value.message


def test_a_reference_no_installed_adapter_serves_is_refused_at_post(tmp_path: Path) -> None:
    catalog = ModelCatalog.load()
    engine = Engine(EngineSettings(device="cpu"), tmp_path, catalog=catalog)
    sdxl = next(entry for entry in catalog.models.values() if entry.family == "sdxl")
    with pytest.raises(NotSupported) as raised:
        engine.check(sdxl, replace(BASE, references=(ImageReference("character", _reference(), 1.0),)))
    assert raised.value.path.endswith(".controlnets")
    assert "sfumato models pull ip-adapter-plus-face-sdxl" in raised.value.message
    tiny = catalog.get(TINY_MODEL_ID)
    assert tiny is not None
    engine.check(tiny, replace(BASE, references=(ImageReference("character", _reference(), 1.0),)))  # built in


def test_an_adapter_of_another_architecture_fails_saying_so_and_leaves_the_model_alone(
    models: dict[str, ModelSource], tmp_path: Path
) -> None:
    """The built-in adapter (Sfumato Tiny's sizes) on the tiny SDXL, which stands for any other UNet."""
    catalog = ModelCatalog.load()
    builtin = catalog.ip_adapters["sfumato-tiny-ip-adapter"]
    catalog.ip_adapters = {"wrong": replace(builtin, family="sdxl")}
    renderer = Renderer(auxiliary=AuxiliaryModels(catalog, tmp_path, lambda: "cpu", None))
    source = models["sdxl"]
    base = pixels(renderer, source)
    with pytest.raises(EngineConfigError, match="does not fit this model's denoiser"):
        pixels(renderer, source, ImageReference("image", _reference(), 1.0))
    assert np.array_equal(pixels(renderer, source), base)
