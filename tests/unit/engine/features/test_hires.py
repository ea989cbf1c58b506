"""The hi-res pass and CFG rescale on the tiny models: the output has the pass's larger size, each
picture is refined on its own seed, progress counts both passes, the families that cannot run it
refuse it, and `guidance_rescale` changes the pixels where the pipeline takes it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from sfumato.catalog import ModelCatalog
from sfumato.engine import ControlGuide, HiresPass, ImageReference, InitImage, Mask, Task
from sfumato.engine.auxiliary import AuxiliaryModels
from sfumato.engine.families import family_of
from sfumato.engine.features.hires import refine_steps
from sfumato.engine.renderer import Renderer
from sfumato.engine.weights.loaders import ModelSource
from sfumato.errors import GENERATION_ARGS_PATH, NotSupported
from tests.support.images import picture
from tests.support.render_requests import tiny_render

# 32x16 first pass, refined at 64x32 (every family's 16-px grid); 3 steps so 0.35 leaves one.
FIRST = tiny_render(width=32, height=16, num_inference_steps=3, guidance_scale=3.5)
HIRES = replace(FIRST, hires=HiresPass(width=64, height=32, strength=0.35))


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB")).astype(np.int16)


@pytest.mark.parametrize("name", ["sd15", "sdxl", "flux"])
def test_the_hires_pass_outputs_the_larger_size(renderer: Renderer, models: dict[str, ModelSource], name: str) -> None:
    [first] = renderer.render(models[name], FIRST)
    [refined] = renderer.render(models[name], HIRES)
    assert first.size == (32, 16) and refined.size == (64, 32)
    # Not a plain resize of the first pass: the refine redrew it.
    resized = first.resize((64, 32), Image.Resampling.LANCZOS)
    assert np.abs(pixels(refined) - pixels(resized)).mean() > 1


def test_each_picture_is_refined_on_its_own_seed(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    pair = renderer.render(models["sd15"], replace(HIRES, num_images=2))
    [second_alone] = renderer.render(models["sd15"], replace(HIRES, seed=HIRES.seed + 1))
    assert [image.size for image in pair] == [(64, 32)] * 2
    assert np.array_equal(pixels(pair[1]), pixels(second_alone))
    assert not np.array_equal(pixels(pair[0]), pixels(pair[1]))


def test_progress_counts_the_steps_of_both_passes(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    seen: list[tuple[int, int]] = []
    renderer.render(models["sd15"], replace(HIRES, num_images=2), lambda done, total: seen.append((done, total)))
    family = family_of("sd15")
    later = family.strength_steps(refine_steps(family, HIRES), 0.35) * 2
    total = FIRST.num_inference_steps + later
    assert seen == [(step, total) for step in range(1, total + 1)]


@pytest.fixture(scope="module")
def guided(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    """A renderer with the shipped catalog's built-in tiny ControlNet and IP-Adapter (SD 1.5)."""
    models_dir = tmp_path_factory.mktemp("hires-aux") / "models"
    return Renderer(auxiliary=AuxiliaryModels(ModelCatalog.load(), models_dir, lambda: "cpu", 1))


def test_guidance_shapes_the_first_pass_and_the_refine_still_runs(
    guided: Renderer, models: dict[str, ModelSource]
) -> None:
    """A ControlNet guides the first pass only; an IP-Adapter, still loaded, conditions the refine too."""
    [plain] = guided.render(models["sd15"], HIRES)
    for changes in ({"controls": (ControlGuide("canny", picture((48, 32)), 1.0),)},
                    {"references": (ImageReference("image", picture((48, 40)), 1.0),)}):  # fmt: skip
        [refined] = guided.render(models["sd15"], replace(HIRES, **changes))  # type: ignore[arg-type]
        assert refined.size == (64, 32) and np.abs(pixels(refined) - pixels(plain)).mean() > 1


def test_a_refine_pass_runs_a_step_even_at_a_low_strength() -> None:
    request = replace(FIRST, num_inference_steps=2, hires=HiresPass(width=32, height=16, strength=0.2))
    family = family_of("sd15")
    assert family.strength_steps(refine_steps(family, request), 0.2) == 1


def test_families_that_cannot_refine_refuse_it_by_name() -> None:
    with pytest.raises(NotSupported) as kontext:
        family_of("flux-kontext").check(HIRES)
    assert kontext.value.path == f"{GENERATION_ARGS_PATH}.highResolution" and "flux-kontext" in kontext.value.message
    init = Image.new("RGB", (32, 16), "gray")
    inpaint = replace(HIRES, task=Task.INPAINT, init=InitImage(init, 1.0), mask=Mask(Image.new("L", (32, 16), 255)))
    with pytest.raises(NotSupported) as repaint:
        family_of("sd15").check(inpaint)
    assert repaint.value.path == f"{GENERATION_ARGS_PATH}.canvasRequestType"
    with pytest.raises(NotSupported) as off_grid:
        family_of("flux").check(replace(FIRST, hires=HiresPass(width=72, height=32, strength=0.35)))
    assert off_grid.value.path == f"{GENERATION_ARGS_PATH}.width"


@pytest.mark.parametrize(("name", "task"), [("sd15", Task.TEXT_TO_IMAGE), ("sdxl", Task.TEXT_TO_IMAGE),
                                            ("sdxl", Task.IMAGE_TO_IMAGE)])  # fmt: skip
def test_guidance_rescale_changes_the_pixels(
    renderer: Renderer, models: dict[str, ModelSource], name: str, task: Task
) -> None:
    base = FIRST
    if task is Task.IMAGE_TO_IMAGE:
        base = replace(FIRST, task=task, init=InitImage(Image.new("RGB", (32, 16), "teal"), 0.7))
    [plain] = renderer.render(models[name], base)
    [rescaled] = renderer.render(models[name], replace(base, guidance_rescale=0.7))
    assert not np.array_equal(pixels(plain), pixels(rescaled))
    assert family_of(name).pipeline_kwargs(replace(base, guidance_rescale=0.7))["guidance_rescale"] == 0.7


def test_guidance_rescale_is_not_passed_where_the_pipeline_lacks_it() -> None:
    rescaled = replace(FIRST, guidance_rescale=0.7)
    for name in ("flux", "sd3"):
        assert "guidance_rescale" not in family_of(name).pipeline_kwargs(rescaled)
    img2img = replace(rescaled, task=Task.IMAGE_TO_IMAGE, init=InitImage(Image.new("RGB", (32, 16)), 0.5))
    assert "guidance_rescale" not in family_of("sd15").pipeline_kwargs(img2img)
