"""The renderer on Sfumato Tiny: load once from disk and cache, seeds, batching, schedulers,
step callbacks, and the cached pipeline left untouched by renders."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from diffusers.schedulers.scheduling_euler_discrete import EulerDiscreteScheduler
from PIL import Image

from sfumato.engine.renderer import Renderer
from sfumato.engine.request import SCHEDULERS
from sfumato.engine.weights.loaders import ModelSource
from sfumato.engine.weights.tiny import ensure_tiny_model
from tests.support.render_requests import tiny_render

BASE = tiny_render(seed=1234)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_tiny_model(tmp_path_factory.mktemp("models") / "sfumato-tiny")


@pytest.fixture(scope="module")
def tiny_source(tiny_model: Path) -> ModelSource:
    return ModelSource.from_folder(tiny_model)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(np.int16)


def test_loads_once_and_caches(renderer: Renderer, tiny_model: Path) -> None:
    source = ModelSource.from_folder(tiny_model)
    assert renderer.load(source) is renderer.load(ModelSource.from_folder(Path(os.path.relpath(tiny_model))))
    assert source.key == str(tiny_model.resolve())  # one key, so one cached pipeline, whichever path named it


def test_render_returns_the_requested_count_and_size(renderer: Renderer, tiny_source: ModelSource) -> None:
    images = renderer.render(tiny_source, replace(BASE, width=48, height=32, num_images=2))
    assert len(images) == 2
    assert all(isinstance(im, Image.Image) and im.size == (48, 32) and im.mode == "RGB" for im in images)


def test_same_seed_same_pixels_other_seed_other_pixels(renderer: Renderer, tiny_source: ModelSource) -> None:
    first = pixels(renderer.render(tiny_source, BASE)[0])
    again = pixels(renderer.render(tiny_source, BASE)[0])
    other = pixels(renderer.render(tiny_source, replace(BASE, seed=BASE.seed + 1))[0])
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_negative_prompt_is_used(renderer: Renderer, tiny_source: ModelSource) -> None:
    plain = pixels(renderer.render(tiny_source, BASE)[0])
    negative = pixels(renderer.render(tiny_source, replace(BASE, negative_prompt="fog, blur"))[0])
    assert not np.array_equal(plain, negative)


def test_batches_are_reproducible_and_image_i_uses_seed_plus_i(renderer: Renderer, tiny_source: ModelSource) -> None:
    request = replace(BASE, num_images=2)
    batch = [pixels(im) for im in renderer.render(tiny_source, request)]
    again = [pixels(im) for im in renderer.render(tiny_source, request)]
    assert all(np.array_equal(a, b) for a, b in zip(batch, again, strict=True))
    # A batch of two runs the networks at another batch size than a single image, and CPU kernels
    # then round differently, so image i matches the lone render of seed + i only to within a
    # level or two of 255; a wrong seed would differ everywhere.
    for i, image in enumerate(batch):
        alone = pixels(renderer.render(tiny_source, replace(BASE, seed=BASE.seed + i))[0])
        assert np.abs(image - alone).max() <= 3
    assert not np.array_equal(batch[0], batch[1])


@pytest.mark.parametrize("name", SCHEDULERS)
def test_every_scheduler_renders(renderer: Renderer, tiny_source: ModelSource, name: str) -> None:
    steps: list[tuple[int, int]] = []
    image = renderer.render(tiny_source, replace(BASE, scheduler=name), lambda d, t: steps.append((d, t)))[0]
    assert image.size == (BASE.width, BASE.height)
    assert np.asarray(image).std() > 0
    total = steps[-1][1]
    # PNDM's PLMS adds one warm-up step, so the loop may run slightly longer than requested.
    assert BASE.num_inference_steps <= total <= BASE.num_inference_steps + 1
    assert steps == [(i, total) for i in range(1, total + 1)]


def test_on_step_counts_every_step(renderer: Renderer, tiny_source: ModelSource) -> None:
    steps: list[tuple[int, int]] = []
    renderer.render(tiny_source, replace(BASE, num_inference_steps=3), lambda d, t: steps.append((d, t)))
    assert steps == [(i, 3) for i in range(1, 4)]  # not BASE's count: the callback follows the request


def test_render_leaves_the_cached_pipeline_alone(renderer: Renderer, tiny_source: ModelSource) -> None:
    renderer.render(tiny_source, replace(BASE, scheduler="LEONARDO"))
    assert type(renderer.load(tiny_source).scheduler) is EulerDiscreteScheduler
