"""The engine end to end on Sfumato Tiny: build, load from disk, schedulers, seeds, batching."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler
from diffusers.schedulers.scheduling_euler_discrete import EulerDiscreteScheduler
from diffusers.schedulers.scheduling_pndm import PNDMScheduler
from PIL import Image

from sfumato.engine.families.schedulers import SCHEDULER_MAP, make_scheduler
from sfumato.engine.renderer import Renderer
from sfumato.engine.request import SCHEDULERS, RenderRequest
from sfumato.engine.weights import tiny
from sfumato.engine.weights.loaders import ModelSource
from sfumato.engine.weights.tiny import MARKER_NAME, TINY_BUILD_VERSION, ensure_tiny_model

BASE = RenderRequest(
    prompt="a lighthouse on a cliff at dusk",
    negative_prompt="",
    width=32,
    height=32,
    num_images=1,
    seed=1234,
    guidance_scale=7.0,
    num_inference_steps=2,  # renders test the engine's wiring, not picture quality: 2 steps, 32 px
    scheduler="EULER_DISCRETE",
)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_tiny_model(tmp_path_factory.mktemp("models") / "sfumato-tiny")


@pytest.fixture(scope="session")
def tiny_source(tiny_model: Path) -> ModelSource:
    return ModelSource.from_folder(tiny_model)


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer()


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(np.int16)


def test_two_builds_are_byte_identical(tiny_model: Path, tmp_path: Path) -> None:
    other = ensure_tiny_model(tmp_path / "again")
    files = sorted(p.relative_to(tiny_model) for p in tiny_model.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
    weights = [f for f in files if f.suffix == ".safetensors"]
    assert len(weights) == 3  # unet, vae, text encoder
    for name in files:
        assert (tiny_model / name).read_bytes() == (other / name).read_bytes(), name


def test_ensure_is_idempotent(tiny_model: Path) -> None:
    marker = tiny_model / MARKER_NAME
    before = marker.stat().st_mtime_ns
    assert ensure_tiny_model(tiny_model) == tiny_model
    assert marker.stat().st_mtime_ns == before
    assert json.loads(marker.read_text())["version"] == TINY_BUILD_VERSION


def test_ensure_replaces_an_outdated_build(tmp_path: Path) -> None:
    target = ensure_tiny_model(tmp_path / "tiny")
    (target / MARKER_NAME).write_text(json.dumps({"version": "stale"}))
    (target / "leftover.txt").write_text("from an old recipe")
    ensure_tiny_model(target)
    assert json.loads((target / MARKER_NAME).read_text())["version"] == TINY_BUILD_VERSION
    assert not (target / "leftover.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["tiny"]  # no staging or stale folders left


def test_ensure_completes_a_half_written_build(tmp_path: Path) -> None:
    target = tmp_path / "tiny"
    target.mkdir()
    (target / "model_index.json").write_text("{}")  # as if a build died before its marker
    ensure_tiny_model(target)
    assert (target / MARKER_NAME).exists() and (target / "unet").is_dir()


def test_racing_threads_share_one_build(tmp_path: Path) -> None:
    target = tmp_path / "tiny"
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: ensure_tiny_model(target), range(4)))
    assert results == [target] * 4
    assert [p.name for p in tmp_path.iterdir()] == ["tiny"]


def test_losing_a_race_to_another_process_is_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "tiny"
    real_build = tiny.build_tiny_pipeline
    rival_done = False

    def build_while_a_rival_finishes_first() -> object:
        nonlocal rival_done
        if not rival_done:
            rival_done = True
            tiny._build_into(target, real_build, "Sfumato Tiny")  # the other process renames its copy into place first
        return real_build()

    monkeypatch.setattr(tiny, "build_tiny_pipeline", build_while_a_rival_finishes_first)
    assert ensure_tiny_model(target) == target
    assert rival_done and (target / MARKER_NAME).exists()
    assert [p.name for p in tmp_path.iterdir()] == ["tiny"]


def test_building_leaves_the_global_rng_alone() -> None:
    state = torch.random.get_rng_state()
    tiny.build_tiny_pipeline()
    assert torch.equal(state, torch.random.get_rng_state())


def test_loads_once_and_caches(renderer: Renderer, tiny_model: Path) -> None:
    source = ModelSource.from_folder(tiny_model)
    assert renderer.load(source) is renderer.load(ModelSource.from_folder(Path(os.path.relpath(tiny_model))))
    assert source.key == str(tiny_model.resolve()) and source.key in renderer.loaded()


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


def test_scheduler_map_covers_exactly_leonardos_names() -> None:
    assert tuple(SCHEDULER_MAP) == SCHEDULERS


def test_make_scheduler_keeps_the_model_schedule_and_applies_overrides() -> None:
    base = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear").config
    leonardo = make_scheduler("LEONARDO", base)
    assert isinstance(leonardo, DPMSolverMultistepScheduler)
    assert leonardo.config.use_karras_sigmas is True
    assert leonardo.config.beta_end == 0.012
    dpm = make_scheduler("DPM_SOLVER", base)
    assert isinstance(dpm, DPMSolverMultistepScheduler)
    assert dpm.config.use_karras_sigmas is False
    for name, (cls, _) in SCHEDULER_MAP.items():
        assert type(make_scheduler(name, base)) is cls
    # PNDM and DDIM get the settings SD pipelines expect even from a config that lacks them.
    pndm = make_scheduler("PNDM", EulerDiscreteScheduler().config)
    assert isinstance(pndm, PNDMScheduler)
    assert pndm.config.skip_prk_steps is True


def test_make_scheduler_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown scheduler"):
        make_scheduler("SOMETHING_ELSE", EulerDiscreteScheduler().config)
