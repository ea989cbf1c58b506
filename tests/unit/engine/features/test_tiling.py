"""Seamless tiling on Sfumato Tiny and the tiny SDXL: rolling the initial latents rolls the picture
exactly when the convolutions wrap (shift equivariance), the modes come back after the call, and
the flow-matching families refuse it by name."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from sfumato.catalog import ModelCatalog
from sfumato.engine.auxiliary import AuxiliaryModels
from sfumato.engine.families import family_of
from sfumato.engine.features.controlnet import controlled_pipeline
from sfumato.engine.features.tiling import tiling_applied
from sfumato.engine.renderer import Renderer, call_pipeline
from sfumato.engine.request import ControlGuide
from sfumato.engine.weights.loaders import ModelSource
from sfumato.errors import NotSupported
from tests.support.render_requests import tiny_render

# 64 px: an 8x8 latent. A shift must be a multiple of the UNet's total downsampling (4 latent px
# for Sfumato Tiny's three levels, 2 for the tiny SDXL's two) for the UNet to be equivariant to it.
SIDE = 64
SHIFTS = {"sd15": 4, "sdxl": 2}


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    """With the shipped catalog's auxiliary models (the built-in tiny ControlNet of Sfumato Tiny)."""
    return Renderer(auxiliary=AuxiliaryModels(ModelCatalog.load(), tmp_path_factory.mktemp("aux"), lambda: "cpu", None))


def _render(renderer: Renderer, source: ModelSource, tiling: bool, latents: torch.Tensor) -> np.ndarray:
    request = tiny_render(width=SIDE, height=SIDE, tiling=tiling)
    model = renderer._model(source)
    family = family_of(source.family)
    with tiling_applied(model, request, renderer) as extra:
        image = call_pipeline(model.pipeline(request.task), family, request, extra={**extra, "latents": latents})[0]
    return np.asarray(image).astype(np.int16)


@pytest.mark.parametrize("family", sorted(SHIFTS))
def test_rolling_the_latents_rolls_the_picture_only_when_tiling(
    renderer: Renderer, models: dict[str, ModelSource], family: str
) -> None:
    source, shift = models[family], SHIFTS[family]
    latents = torch.randn((1, 4, SIDE // 8, SIDE // 8), generator=torch.Generator().manual_seed(3))
    rolled = torch.roll(latents, shift, dims=3)
    errors = {}
    for tiling in (True, False):
        first = _render(renderer, source, tiling, latents)
        second = _render(renderer, source, tiling, rolled)
        errors[tiling] = np.abs(second - np.roll(first, 8 * shift, axis=1)).max()
    # Wrapped: equal up to one level of 255 (float rounding before the 8-bit picture); zero-padded: far off.
    assert errors[True] <= 1
    assert errors[False] > 20


def test_padding_modes_are_restored_and_the_next_request_is_the_base(
    renderer: Renderer, models: dict[str, ModelSource]
) -> None:
    source = models["sd15"]
    base = tiny_render(width=SIDE, height=SIDE)
    before = np.asarray(renderer.render(source, base)[0])
    tiled = np.asarray(renderer.render(source, replace(base, tiling=True))[0])
    after = np.asarray(renderer.render(source, base)[0])
    assert not np.array_equal(before, tiled)
    assert np.array_equal(before, after)
    modes = {m.padding_mode for c in renderer.load(source).components.values() if isinstance(c, nn.Module)
             for m in c.modules() if isinstance(m, nn.Conv2d)}  # fmt: skip
    assert modes == {"zeros"}


def test_modes_are_restored_when_the_call_fails(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    source = models["sd15"]
    model = renderer._model(source)
    conv = next(m for m in model.base.unet.modules() if isinstance(m, nn.Conv2d))
    with pytest.raises(RuntimeError), tiling_applied(model, tiny_render(tiling=True), renderer):
        assert conv.padding_mode == "circular"
        raise RuntimeError("the pipeline failed")
    assert conv.padding_mode == "zeros"


@pytest.mark.parametrize("family", ["sd3", "flux", "flux-kontext"])
def test_flow_matching_families_refuse_tiling_by_name(family: str) -> None:
    with pytest.raises(NotSupported) as raised:
        family_of(family).check(tiny_render(width=32, height=32, tiling=True))
    assert raised.value.path.endswith(".tiling")
    assert "position embeddings" in raised.value.message


@pytest.mark.parametrize("family", ["sd15", "sd2", "sdxl", "sdxl-lightning"])
def test_unet_families_take_tiling(family: str) -> None:
    family_of(family).check(tiny_render(tiling=True))


def test_a_controlnet_drawing_with_the_model_wraps_too(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    source = models["sd15"]
    model = renderer._model(source)
    guide = ControlGuide("canny", Image.new("RGB", (32, 32), (250, 250, 250)), 1.0)
    request = tiny_render(tiling=True, controls=(guide,))
    with tiling_applied(model, request, renderer):
        pipe = controlled_pipeline(model, request, renderer)
        conv = next(m for m in pipe.controlnet.modules() if isinstance(m, nn.Conv2d))
        assert conv.padding_mode == "circular"
    assert conv.padding_mode == "zeros"
