"""The finishing knobs from plan to pixels: what `render_request` hands the engine for them, and
that each changes the picture (or its size) as docs/knobs.md says, on the tiny SDXL model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from sfumato.catalog import ModelCatalog
from sfumato.domain.finishing import FinishingRequest
from sfumato.domain.generation import GenerationPlan, GenerationRequest, resolve
from sfumato.engine import Engine, HiresPass
from sfumato.engine.renderer import Renderer
from sfumato.engine.weights.loaders import ModelSource
from sfumato.jobs.render_request import render_request
from sfumato.storage.blobs import LocalBlobStore
from tests.support.tiny_families import ensure_tiny_family_model

KINO_XL = ModelCatalog.load().get("aa77f04e-3eec-4034-9c07-d0f619684628")  # an SDXL row (PhotoReal v2)
assert KINO_XL is not None


@pytest.fixture(scope="module")
def sdxl(tmp_path_factory: pytest.TempPathFactory) -> ModelSource:
    return ModelSource.from_folder(ensure_tiny_family_model("sdxl", tmp_path_factory.mktemp("sdxl")), "sdxl")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def plan_for(**knobs: Any) -> GenerationPlan:
    request = GenerationRequest(prompt="a harbour at noon", model_id=KINO_XL.id, width=64, height=48, num_images=1,
                                num_inference_steps=10, seed=11, preset_style="NONE",
                                finishing=FinishingRequest(**knobs))  # fmt: skip
    assert KINO_XL.id is not None
    return resolve(request, KINO_XL, KINO_XL.id, Engine.traits(KINO_XL))


def draw(renderer: Renderer, sdxl: ModelSource, plan: GenerationPlan, tmp_path: Path) -> Image.Image:
    [picture] = renderer.render(sdxl, render_request(plan, LocalBlobStore(tmp_path)))
    return picture


def differ(a: Image.Image, b: Image.Image) -> bool:
    return a.size != b.size or not np.array_equal(np.asarray(a), np.asarray(b))


def test_photo_real_changes_the_prompt_refines_and_changes_the_pixels(
    renderer: Renderer, sdxl: ModelSource, tmp_path: Path
) -> None:
    plain, photo = plan_for(), plan_for(photo_real=True)
    request = render_request(photo, LocalBlobStore(tmp_path))
    assert request.prompt.startswith("a harbour at noon, RAW photo") and "depth of field" in request.prompt
    assert request.hires == HiresPass(width=64, height=48, strength=0.55)
    assert render_request(plain, LocalBlobStore(tmp_path)).hires is None
    picture = draw(renderer, sdxl, photo, tmp_path)
    assert picture.size == (64, 48) and differ(picture, draw(renderer, sdxl, plain, tmp_path))


def test_ultra_outputs_twice_the_size_the_plan_records(renderer: Renderer, sdxl: ModelSource, tmp_path: Path) -> None:
    plan = plan_for(ultra=True)
    assert plan.finishing.output_size(plan.width, plan.height) == (128, 96)
    assert draw(renderer, sdxl, plan, tmp_path).size == (128, 96)


def test_contrast_and_prompt_magic_change_the_pixels(renderer: Renderer, sdxl: ModelSource, tmp_path: Path) -> None:
    base = draw(renderer, sdxl, plan_for(), tmp_path)
    low = plan_for(contrast=1.0)
    assert render_request(low, LocalBlobStore(tmp_path)).guidance_rescale == 0.7
    assert differ(draw(renderer, sdxl, low, tmp_path), base)
    magic = plan_for(prompt_magic=True, prompt_magic_version="v2")  # v2: the refine pass alone, no terms
    assert render_request(magic, LocalBlobStore(tmp_path)).prompt == "a harbour at noon"
    assert differ(draw(renderer, sdxl, magic, tmp_path), base)
