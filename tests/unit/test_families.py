"""Every registered model family, end to end on its tiny model: build, save, `from_pretrained`,
render through the family's adapter; and the knobs each adapter refuses."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers.schedulers.scheduling_euler_discrete import EulerDiscreteScheduler
from diffusers.schedulers.scheduling_flow_match_euler_discrete import FlowMatchEulerDiscreteScheduler
from PIL import Image
from safetensors.torch import load_file

from sfumato.engine.families import ADAPTERS, adapter_for
from sfumato.engine.renderer import Renderer
from sfumato.engine.request import SCHEDULERS, RenderRequest
from sfumato.engine.weights.loaders import ModelSource
from sfumato.errors import GENERATION_ARGS_PATH, NotSupported
from tests.support.tiny_families import ensure_tiny_family_model, ensure_tiny_lightning_unet

FAMILIES = sorted(ADAPTERS)
FLOW_MATCHING = ("sd3", "flux", "flux-kontext")

BASE = RenderRequest(
    prompt="a lighthouse on a cliff at dusk",
    negative_prompt="",
    width=32,  # not square, so a swapped width and height shows; on every family's 16-px grid
    height=16,
    num_images=2,
    seed=1234,
    guidance_scale=3.5,
    num_inference_steps=2,  # renders test each adapter's wiring, not picture quality
    scheduler="EULER_DISCRETE",
)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModelSource]:
    """Each family's tiny model; SDXL-Lightning is the tiny SDXL folder with the tiny Lightning UNet file."""
    root = tmp_path_factory.mktemp("family-models")
    sources = {}
    for family in FAMILIES:
        if family == "sdxl-lightning":
            base = ensure_tiny_family_model("sdxl", root / "sdxl")
            unet = ensure_tiny_lightning_unet(root / "lightning" / "unet.safetensors")
            sources[family] = ModelSource.from_folder(base, family, unet_file=unet)
        else:
            sources[family] = ModelSource.from_folder(ensure_tiny_family_model(family, root / family), family)
    return sources


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(np.int16)


def test_every_family_the_catalog_serves_is_registered_and_so_tested_here() -> None:
    from sfumato.catalog import ModelCatalog

    catalog = ModelCatalog.load()
    served = {e.family for e in [*catalog.models.values(), *catalog.fallbacks.values()]}
    assert served and served <= set(FAMILIES), served - set(FAMILIES)


@pytest.mark.parametrize("family", FAMILIES)
def test_renders_the_requested_size_and_count_reproducibly(
    renderer: Renderer, models: dict[str, ModelSource], family: str
) -> None:
    first = renderer.render(models[family], BASE)
    assert [image.size for image in first] == [(BASE.width, BASE.height)] * 2
    again = renderer.render(models[family], BASE)
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(pixels(a), pixels(b))
    assert not np.array_equal(pixels(first[0]), pixels(first[1]))  # image i is seeded seed + i
    other = renderer.render(models[family], replace(BASE, seed=99))
    assert not np.array_equal(pixels(first[0]), pixels(other[0]))


@pytest.mark.parametrize("family", FAMILIES)
def test_on_step_counts_every_step(renderer: Renderer, models: dict[str, ModelSource], family: str) -> None:
    seen: list[tuple[int, int]] = []
    request = replace(BASE, num_images=1, num_inference_steps=3)  # not BASE's count: the callback follows the request
    renderer.render(models[family], request, lambda d, t: seen.append((d, t)))
    assert seen == [(step, 3) for step in range(1, 4)]


@pytest.mark.parametrize("family", FLOW_MATCHING)
def test_negative_prompt_changes_the_picture(renderer: Renderer, models: dict[str, ModelSource], family: str) -> None:
    request = replace(BASE, num_images=1)
    plain = renderer.render(models[family], request)[0]
    negative = renderer.render(models[family], replace(request, negative_prompt="blurry"))[0]
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
def test_flow_matching_families_keep_the_models_euler(models: dict[str, ModelSource], family: str) -> None:
    assert models[family].folder is not None
    config = FlowMatchEulerDiscreteScheduler.load_config(models[family].folder / "scheduler")
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
    source = ModelSource.from_folder(tmp_path / "not-a-model", "flux")
    with pytest.raises(NotSupported):
        renderer.render(source, replace(BASE, scheduler="DDIM"))
    assert source.key not in renderer.loaded()


@pytest.mark.parametrize("family", ["sd-cascade", "unheard-of"])
def test_unregistered_families_are_refused_naming_the_family(family: str) -> None:
    with pytest.raises(NotSupported) as refused:
        adapter_for(family, "Some Model")
    assert refused.value.path == f"{GENERATION_ARGS_PATH}.modelId"
    assert f"'{family}'" in refused.value.message and "Some Model" in refused.value.message


# --- SDXL-Lightning: distilled steps, trailing Euler, CFG off by default, the file's UNet -----------


@pytest.mark.parametrize("steps", [1, 8, 10, 30])
def test_lightning_runs_explicit_step_counts_on_its_trailing_schedule(steps: int) -> None:
    request = replace(BASE, num_inference_steps=steps)
    adapter_for("sdxl-lightning").check_request(request)  # accepted: Leonardo clients send 10-60
    scheduler = adapter_for("sdxl-lightning").make_scheduler("EULER_DISCRETE", {"num_train_timesteps": 1000})
    scheduler.set_timesteps(steps)
    assert len(scheduler.timesteps) == steps and int(scheduler.timesteps[0]) == 999  # trailing: starts at T


@pytest.mark.parametrize("scheduler", [s for s in SCHEDULERS if s != "EULER_DISCRETE"])
def test_lightning_refuses_other_schedulers(scheduler: str) -> None:
    with pytest.raises(NotSupported) as refused:
        adapter_for("sdxl-lightning").check_request(replace(BASE, scheduler=scheduler))
    assert refused.value.path == f"{GENERATION_ARGS_PATH}.scheduler"


def test_lightning_samples_trailing_euler(models: dict[str, ModelSource]) -> None:
    """ByteDance's setting: SDXL's Euler with trailing spacing, which starts at the last timestep."""
    assert models["sdxl-lightning"].folder is not None
    config = EulerDiscreteScheduler.load_config(models["sdxl-lightning"].folder / "scheduler")
    assert config["timestep_spacing"] == "leading"  # the base's own
    scheduler = adapter_for("sdxl-lightning").make_scheduler("EULER_DISCRETE", config)
    assert isinstance(scheduler, EulerDiscreteScheduler) and scheduler.config["timestep_spacing"] == "trailing"
    scheduler.set_timesteps(8)
    assert scheduler.timesteps.tolist() == [999, 874, 749, 624, 499, 374, 249, 124]


def test_lightning_runs_the_files_unet_on_the_bases_other_modules(
    renderer: Renderer, models: dict[str, ModelSource]
) -> None:
    lightning, base = renderer.load(models["sdxl-lightning"]), renderer.load(models["sdxl"])
    assert lightning is not base and models["sdxl-lightning"].key != models["sdxl"].key
    assert models["sdxl-lightning"].unet_file is not None
    weights = load_file(str(models["sdxl-lightning"].unet_file))
    state = lightning.unet.state_dict()
    assert state.keys() == weights.keys() and all(torch.equal(state[k], weights[k]) for k in weights)
    assert not torch.equal(base.unet.conv_in.weight, lightning.unet.conv_in.weight)
    for name in ("vae", "text_encoder", "text_encoder_2"):
        ours, theirs = getattr(lightning, name).state_dict(), getattr(base, name).state_dict()
        assert all(torch.equal(ours[k], theirs[k]) for k in theirs), name
    request = replace(BASE, num_images=1)
    assert not np.array_equal(pixels(renderer.render(models["sdxl"], request)[0]),
                              pixels(renderer.render(models["sdxl-lightning"], request)[0]))  # fmt: skip


@pytest.mark.parametrize(("guidance", "passes"), [(1.0, 1), (2.0, 2)])
def test_lightning_guidance_one_is_cfg_off(
    renderer: Renderer, models: dict[str, ModelSource], guidance: float, passes: int
) -> None:
    """At the rows' default 1.0 each step is one UNet pass over the batch (CFG off, as distilled);
    above 1 it is classic CFG, twice the batch."""
    batches: list[int] = []
    unet = renderer.load(models["sdxl-lightning"]).unet
    hook = unet.register_forward_pre_hook(lambda _module, args: batches.append(args[0].shape[0]))
    try:
        renderer.render(models["sdxl-lightning"], replace(BASE, num_images=2, guidance_scale=guidance))
    finally:
        hook.remove()
    assert batches == [2 * passes] * BASE.num_inference_steps


def test_the_catalog_lightning_rows_default_to_their_files_steps_and_cfg_off() -> None:
    from sfumato.catalog import ModelCatalog

    catalog = ModelCatalog.load()
    rows = [e for e in [*catalog.models.values(), *catalog.fallbacks.values()] if e.family == "sdxl-lightning"]
    assert rows
    for row in rows:
        assert row.unet_file and f"_{row.default_steps}step_" in row.unet_file, row.name
        assert row.default_guidance == 1.0
        adapter_for(row.family).check_request(replace(BASE, num_inference_steps=row.default_steps))
