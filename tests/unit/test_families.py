"""Every registered model family, end to end on its tiny model: build, save, `from_pretrained`,
render through the family's adapter; and the knobs each adapter refuses."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from diffusers.schedulers.scheduling_flow_match_euler_discrete import FlowMatchEulerDiscreteScheduler
from PIL import Image

from sfumato.engine.families import ADAPTERS, adapter_for
from sfumato.engine.renderer import Renderer
from sfumato.engine.tiny_families import ensure_tiny_family_model
from sfumato.engine.types import SCHEDULERS, RenderRequest
from sfumato.errors import GENERATION_ARGS_PATH, NotSupported

FAMILIES = sorted(ADAPTERS)
FLOW_MATCHING = ("sd3", "flux")

BASE = RenderRequest(
    prompt="a lighthouse on a cliff at dusk",
    negative_prompt="",
    width=64,
    height=48,
    num_images=2,
    seed=1234,
    guidance_scale=3.5,
    num_inference_steps=4,
    scheduler="EULER_DISCRETE",
)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("family-models")
    return {family: ensure_tiny_family_model(family, root / family) for family in FAMILIES}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(np.int16)


def test_the_tested_families_are_registered() -> None:
    assert FAMILIES == ["flux", "sd15", "sd2", "sd3", "sdxl"]


@pytest.mark.parametrize("family", FAMILIES)
def test_renders_the_requested_size_and_count_reproducibly(
    renderer: Renderer, models: dict[str, Path], family: str
) -> None:
    request = BASE if family not in FLOW_MATCHING else replace(BASE, height=32)  # 16-px grid
    started = time.perf_counter()
    first = renderer.render(models[family], request, family=family)
    elapsed = time.perf_counter() - started
    assert [image.size for image in first] == [(request.width, request.height)] * 2
    again = renderer.render(models[family], request, family=family)
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(pixels(a), pixels(b))
    assert not np.array_equal(pixels(first[0]), pixels(first[1]))  # image i is seeded seed + i
    other = renderer.render(models[family], replace(request, seed=99), family=family)
    assert not np.array_equal(pixels(first[0]), pixels(other[0]))
    print(f"{family}: 2 images {request.width}x{request.height}, 4 steps, {elapsed * 1000:.0f} ms (incl. load)")


@pytest.mark.parametrize("family", FAMILIES)
def test_on_step_counts_every_step(renderer: Renderer, models: dict[str, Path], family: str) -> None:
    seen: list[tuple[int, int]] = []
    renderer.render(
        models[family], replace(BASE, width=32, height=32, num_images=1), lambda d, t: seen.append((d, t)), family
    )
    assert seen == [(step, 4) for step in range(1, 5)]


@pytest.mark.parametrize("family", FLOW_MATCHING)
def test_negative_prompt_changes_the_picture(renderer: Renderer, models: dict[str, Path], family: str) -> None:
    request = replace(BASE, width=32, height=32, num_images=1)
    plain = renderer.render(models[family], request, family=family)[0]
    negative = renderer.render(models[family], replace(request, negative_prompt="blurry"), family=family)[0]
    assert not np.array_equal(pixels(plain), pixels(negative))


@pytest.mark.parametrize("family", ["sd15", "sd2", "sdxl"])
@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_noise_prediction_families_accept_every_scheduler(family: str, scheduler: str) -> None:
    adapter_for(family).check_request(replace(BASE, scheduler=scheduler))


@pytest.mark.parametrize("family", FLOW_MATCHING)
@pytest.mark.parametrize("scheduler", [s for s in SCHEDULERS if s != "EULER_DISCRETE"])
def test_flow_matching_families_refuse_other_schedulers(family: str, scheduler: str) -> None:
    with pytest.raises(NotSupported) as refused:
        adapter_for(family).check_request(replace(BASE, scheduler=scheduler))
    assert refused.value.path == f"{GENERATION_ARGS_PATH}.scheduler"
    assert scheduler in refused.value.message and family in refused.value.message


@pytest.mark.parametrize("family", FLOW_MATCHING)
def test_flow_matching_families_keep_the_models_euler(models: dict[str, Path], family: str) -> None:
    config = FlowMatchEulerDiscreteScheduler.load_config(models[family] / "scheduler")
    scheduler = adapter_for(family).make_scheduler("EULER_DISCRETE", config)
    assert isinstance(scheduler, FlowMatchEulerDiscreteScheduler)
    assert scheduler.config["shift"] == config["shift"]


@pytest.mark.parametrize("family", FLOW_MATCHING)
@pytest.mark.parametrize("field", ["width", "height"])
def test_flow_matching_families_refuse_sizes_off_the_patch_grid(family: str, field: str) -> None:
    with pytest.raises(NotSupported) as refused:
        adapter_for(family).check_request(replace(BASE, **{"width": 64, "height": 64, field: 72}))
    assert refused.value.path == f"{GENERATION_ARGS_PATH}.{field}"
    assert "multiple of 16" in refused.value.message


def test_the_renderer_refuses_before_loading(renderer: Renderer, tmp_path: Path) -> None:
    with pytest.raises(NotSupported):
        renderer.render(tmp_path / "not-a-model", replace(BASE, scheduler="DDIM"), family="flux")
    assert str(tmp_path / "not-a-model") not in renderer.loaded()


@pytest.mark.parametrize("family", ["sdxl-lightning", "flux-kontext", "unheard-of"])
def test_unregistered_families_are_refused_naming_the_family(family: str) -> None:
    with pytest.raises(NotSupported) as refused:
        adapter_for(family, "Some Model")
    assert refused.value.path == f"{GENERATION_ARGS_PATH}.modelId"
    assert f"'{family}'" in refused.value.message and "Some Model" in refused.value.message
