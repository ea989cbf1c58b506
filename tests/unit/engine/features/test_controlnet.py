"""ControlNets through the renderer on the tiny models: the built-in tiny ControlNet of Sfumato Tiny
(SD 1.5), and tiny ControlNets made from the tiny SDXL and FLUX models (tests/support/tiny_controlnets).

What is measured: a control image changes the picture, another control image changes it otherwise
(the picture follows the control image, not just the ControlNet's presence), scale 0 gives exactly
the pixels without ControlNets (same seed), and several ControlNets at once run. Families without
ControlNet pipelines are refused naming `controlnets`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sfumato.catalog import ModelCatalog
from sfumato.engine import ControlGuide, EngineConfigError, InitImage, Task
from sfumato.engine.auxiliary import AuxiliaryModels
from sfumato.engine.renderer import Renderer
from sfumato.engine.weights.loaders import ModelSource
from sfumato.errors import GENERATION_ARGS_PATH, NotSupported
from tests.support.images import picture
from tests.support.render_requests import tiny_render
from tests.support.tiny_controlnets import tiny_controlnet_row

SOURCE = picture((48, 32))
OTHER = Image.fromarray(255 - np.asarray(SOURCE))  # the same picture, inverted
BASE = tiny_render(seed=11)


@pytest.fixture(scope="module")
def renderer(models: dict[str, ModelSource], tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    """The shipped catalog (its built-in tiny ControlNet and depth model) plus tiny SDXL and FLUX rows."""
    root = tmp_path_factory.mktemp("controlnets")
    catalog = ModelCatalog.load()
    for family in ("sdxl", "flux"):
        row = tiny_controlnet_row(Path(str(models[family].folder)), family, root / family)
        catalog.controlnets[row.id] = row
    return Renderer(auxiliary=AuxiliaryModels(catalog, root / "models", lambda: "cpu", 1))


def pixels(renderer: Renderer, source: ModelSource, *controls: ControlGuide, **changes: object) -> np.ndarray:
    request = replace(BASE, controls=controls, **changes)  # type: ignore[arg-type]
    return np.asarray(renderer.render(source, request)[0], dtype=np.int16)


@pytest.mark.parametrize("family", ["sd15", "sdxl", "flux"])
def test_a_control_image_guides_and_scale_zero_draws_as_without(
    renderer: Renderer, models: dict[str, ModelSource], family: str
) -> None:
    source = models[family]
    without = pixels(renderer, source)
    guided = pixels(renderer, source, ControlGuide("canny", SOURCE, 1.0))
    assert np.abs(guided - without).mean() > 1
    # The picture follows the control image itself ("image": the picture as the control image).
    one, other = (pixels(renderer, source, ControlGuide("image", image, 1.0)) for image in (SOURCE, OTHER))
    assert np.abs(one - other).mean() > 1
    assert np.array_equal(pixels(renderer, source, ControlGuide("canny", SOURCE, 0.0)), without)


def test_two_controlnets_at_once(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    source = models["sd15"]
    one = pixels(renderer, source, ControlGuide("canny", SOURCE, 1.0))
    two = pixels(renderer, source, ControlGuide("canny", SOURCE, 1.0), ControlGuide("depth", OTHER, 1.0))
    assert two.shape == one.shape and np.abs(two - one).mean() > 0.5
    # Scale 0 on both: the pixels of no ControlNet at all.
    zeros = pixels(renderer, source, ControlGuide("canny", SOURCE, 0.0), ControlGuide("normal", OTHER, 0.0))
    assert np.array_equal(zeros, pixels(renderer, source))


@pytest.mark.parametrize("family", ["sd3", "flux-kontext"])
def test_families_without_controlnet_pipelines_refuse(
    renderer: Renderer, models: dict[str, ModelSource], family: str
) -> None:
    with pytest.raises(NotSupported, match="ControlNet guidance is not supported") as refused:
        renderer.render(models[family], replace(BASE, controls=(ControlGuide("canny", SOURCE, 1.0),)))
    assert refused.value.path == f"{GENERATION_ARGS_PATH}.controlnets"


def test_pose_guidance_draws_through_the_pose_estimator(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    """The built-in tiny VitPose's keypoints, drawn as a skeleton, guide like any control image."""
    source = models["sd15"]
    posed = pixels(renderer, source, ControlGuide("pose", SOURCE, 1.0))
    assert np.abs(posed - pixels(renderer, source)).mean() > 1


def test_a_family_without_a_controlnet_row_is_a_config_error(
    renderer: Renderer, models: dict[str, ModelSource]
) -> None:
    with pytest.raises(EngineConfigError, match="no canny ControlNet for sd2"):
        renderer.render(models["sd2"], replace(BASE, controls=(ControlGuide("canny", SOURCE, 1.0),)))


@pytest.mark.parametrize("family", ["sd15", "sdxl", "flux"])
def test_image_to_image_and_family_knobs_with_a_controlnet(
    renderer: Renderer, models: dict[str, ModelSource], family: str
) -> None:
    """Each family's ControlNet img2img pipeline runs with the family's call (FLUX's true-CFG scale,
    CFG rescale: knobs some ControlNet pipelines lack are left out, not sent)."""
    source = models[family]
    img2img = {"task": Task.IMAGE_TO_IMAGE, "init": InitImage(OTHER, 0.5), "num_inference_steps": 4}
    plain = pixels(renderer, source, **img2img)
    guided = pixels(renderer, source, ControlGuide("canny", SOURCE, 1.5), guidance_rescale=0.5, **img2img)
    assert np.abs(guided - plain).mean() > 0.5
    assert pixels(renderer, source, ControlGuide("canny", SOURCE, 1.0), guidance_rescale=0.5).shape == plain.shape


def test_flux_controlnet_img2img_refuses_a_negative_prompt(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    request = replace(BASE, task=Task.IMAGE_TO_IMAGE, init=InitImage(OTHER, 0.5), negative_prompt="blur",
                      controls=(ControlGuide("canny", SOURCE, 1.0),))  # fmt: skip
    with pytest.raises(NotSupported, match="takes no negative prompt") as refused:
        renderer.render(models["flux"], request)
    assert refused.value.path == f"{GENERATION_ARGS_PATH}.negative_prompt"
