"""Every registered model family, end to end on its tiny model: build, save, `from_pretrained`,
render through the family; the knobs each family refuses; its pipelines per task and schedulers;
and that the families' code loads neither torch nor diffusers until a render needs them."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from diffusers.pipelines.auto_pipeline import (
    AUTO_IMAGE2IMAGE_PIPELINES_MAPPING,
    AUTO_INPAINT_PIPELINES_MAPPING,
    AUTO_TEXT2IMAGE_PIPELINES_MAPPING,
)
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler
from diffusers.schedulers.scheduling_euler_discrete import EulerDiscreteScheduler
from diffusers.schedulers.scheduling_flow_match_euler_discrete import FlowMatchEulerDiscreteScheduler
from diffusers.schedulers.scheduling_pndm import PNDMScheduler
from PIL import Image
from safetensors.torch import load_file

from sfumato.catalog import ModelCatalog
from sfumato.engine.families import FAMILIES, family_of
from sfumato.engine.families.schedulers import SCHEDULER_MAP, leonardo_scheduler
from sfumato.engine.renderer import Renderer
from sfumato.engine.request import SCHEDULERS, ImageReference, InitImage, Mask, RenderRequest, Task
from sfumato.engine.runtime.cache import PipelineCache
from sfumato.engine.weights.loaders import ModelSource
from sfumato.errors import GENERATION_ARGS_PATH, ClientError, NotSupported
from tests.support.render_requests import tiny_render

NAMES = sorted(FAMILIES)
FLOW_MATCHING = ("sd3", "flux", "flux-kontext")
CATALOG = ModelCatalog.load()
ROWS = [*CATALOG.models.values(), *CATALOG.fallbacks.values()]

# Not square, so a swapped width and height shows; on every family's 16-px grid.
BASE = tiny_render(height=16, num_images=2, seed=1234, guidance_scale=3.5)
PICTURE = Image.new("RGB", (BASE.width, BASE.height), (200, 30, 30))
# Families that only edit pictures (a prompt alone is refused): their renders here edit PICTURE.
EDIT_ONLY = ("qwen-image-edit-plus",)


def drawable(name: str, request: RenderRequest) -> RenderRequest:
    """`request`, with a reference picture for a family that draws nothing from a prompt alone."""
    return replace(request, references=(ImageReference("image", PICTURE, 1.0),)) if name in EDIT_ONLY else request


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(np.int16)


def test_every_family_the_catalog_serves_is_registered_and_so_tested_here() -> None:
    served = {row.family for row in ROWS}
    assert served and served <= set(NAMES), served - set(NAMES)


def test_the_families_load_neither_torch_nor_diffusers() -> None:
    """An API-only process checks requests through the families: importing them must stay light."""
    code = (
        "import sys, sfumato.engine, sfumato.engine.families, sfumato.engine.families.schedulers\n"
        "print(sorted({'torch', 'diffusers'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"


# --- renders ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_renders_the_requested_size_and_count_reproducibly(
    renderer: Renderer, models: dict[str, ModelSource], name: str
) -> None:
    first = renderer.render(models[name], drawable(name, BASE))
    assert [image.size for image in first] == [(BASE.width, BASE.height)] * 2
    again = renderer.render(models[name], drawable(name, BASE))
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(pixels(a), pixels(b))
    assert not np.array_equal(pixels(first[0]), pixels(first[1]))  # image i is seeded seed + i
    other = renderer.render(models[name], drawable(name, replace(BASE, seed=99)))
    assert not np.array_equal(pixels(first[0]), pixels(other[0]))


@pytest.mark.parametrize("name", NAMES)
def test_on_step_counts_every_step(renderer: Renderer, models: dict[str, ModelSource], name: str) -> None:
    seen: list[tuple[int, int]] = []
    request = drawable(name, replace(BASE, num_images=1, num_inference_steps=3))  # the callback follows the request
    renderer.render(models[name], request, lambda d, t: seen.append((d, t)))
    assert seen == [(step, 3) for step in range(1, 4)]


@pytest.mark.parametrize("name", FLOW_MATCHING)
def test_negative_prompt_changes_the_picture(renderer: Renderer, models: dict[str, ModelSource], name: str) -> None:
    request = replace(BASE, num_images=1)
    plain = renderer.render(models[name], request)[0]
    negative = renderer.render(models[name], replace(request, negative_prompt="blurry"))[0]
    assert not np.array_equal(pixels(plain), pixels(negative))


def test_the_renderer_refuses_before_loading(tmp_path: Path) -> None:
    cache: PipelineCache[Any] = PipelineCache()
    source = ModelSource.from_folder(tmp_path / "not-a-model", "flux")
    with pytest.raises(NotSupported):
        Renderer(cache=cache).render(source, replace(BASE, scheduler="DDIM"))
    assert cache.stats().misses == 0  # the cache was never asked


# --- what each family refuses ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sd15", "sd2", "sdxl"])
@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_noise_prediction_families_accept_every_scheduler(name: str, scheduler: str) -> None:
    family_of(name).check(replace(BASE, scheduler=scheduler))


@pytest.mark.parametrize("name", FLOW_MATCHING)
@pytest.mark.parametrize("scheduler", [s for s in SCHEDULERS if s != "EULER_DISCRETE"])
def test_flow_matching_families_refuse_other_schedulers(name: str, scheduler: str) -> None:
    with pytest.raises(NotSupported) as refused:
        family_of(name).check(replace(BASE, scheduler=scheduler))
    assert refused.value.path == f"{GENERATION_ARGS_PATH}.scheduler"
    assert scheduler in refused.value.message and name in refused.value.message


@pytest.mark.parametrize("name", FLOW_MATCHING)
def test_flow_matching_families_keep_the_models_euler(models: dict[str, ModelSource], name: str) -> None:
    assert models[name].folder is not None
    config = FlowMatchEulerDiscreteScheduler.load_config(models[name].folder / "scheduler")
    scheduler = family_of(name).make_scheduler("EULER_DISCRETE", config)
    assert isinstance(scheduler, FlowMatchEulerDiscreteScheduler)
    assert scheduler.config["shift"] == config["shift"]


@pytest.mark.parametrize(("name", "grid"), [("sd15", (40, 32)), ("flux", (48, 32))])
def test_a_size_off_the_latent_grid_is_drawn_on_it_and_resized_to_the_size_asked(
    renderer: Renderer, models: dict[str, ModelSource], name: str, grid: tuple[int, int]
) -> None:
    """A v2 slug may take sides off a family's grid (FLUX.2 Pro's 1440x810; FLUX's grid is 16 px):
    the picture is the one drawn at the next grid size up, resized to exactly the size asked."""
    [asked] = renderer.render(models[name], replace(BASE, width=40, height=27, num_images=1))
    [drawn] = renderer.render(models[name], replace(BASE, width=grid[0], height=grid[1], num_images=1))
    assert asked.size == (40, 27)
    assert np.array_equal(np.asarray(asked), np.asarray(drawn.resize((40, 27), Image.Resampling.LANCZOS)))


@pytest.mark.parametrize("name", ["flux", "flux-kontext"])
def test_flux_takes_seeds_up_to_leonardos_flux_limit(name: str) -> None:
    family_of(name).check(replace(BASE, seed=2_147_483_637))
    with pytest.raises(ClientError) as refused:
        family_of(name).check(replace(BASE, seed=2_147_483_638))
    assert refused.value.path == f"{GENERATION_ARGS_PATH}.seed" and refused.value.status == 400
    assert refused.value.message == "seed must be between 0 and 2147483637, got 2147483638"
    assert family_of(name).traits.seed_max == 2_147_483_637


@pytest.mark.parametrize("name", ["sd15", "sdxl", "sd3"])
def test_other_families_take_every_32_bit_seed(name: str) -> None:
    family_of(name).check(replace(BASE, seed=2**32 - 1))
    with pytest.raises(ClientError, match="between 0 and 4294967295"):
        family_of(name).check(replace(BASE, seed=2**32))


@pytest.mark.parametrize("name", NAMES)
def test_a_styles_stock_negative_terms_apply_except_where_a_negative_prompt_costs_a_pass(name: str) -> None:
    """FLUX's true CFG runs the transformer twice per step for any negative prompt; Z-Image's is a
    second pass too (refused with CFG off), as Qwen-Image's is, and Ideogram 4 takes none."""
    costly = name.startswith(("flux", "qwen-image")) or name in ("z-image", "ideogram4")
    assert family_of(name).traits.style_negative_terms is not costly


@pytest.mark.parametrize(
    ("task", "parts"),
    [
        (Task.TEXT_TO_IMAGE, {"init": InitImage(PICTURE, 0.5)}),
        (Task.IMAGE_TO_IMAGE, {}),
        (Task.IMAGE_TO_IMAGE, {"init": InitImage(PICTURE, 0.5), "mask": Mask(PICTURE)}),
        (Task.INPAINT, {"init": InitImage(PICTURE, 0.5)}),
    ],
)
def test_a_request_carries_exactly_the_parts_its_task_needs(task: Task, parts: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=task.value):
        replace(BASE, task=task, **parts)


def test_an_init_image_strength_is_a_fraction() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        InitImage(PICTURE, 1.5)


@pytest.mark.parametrize("family", ["sd-cascade", "unheard-of"])
def test_unregistered_families_are_refused_naming_the_family(family: str) -> None:
    with pytest.raises(NotSupported) as refused:
        family_of(family, "Some Model")
    assert refused.value.path == f"{GENERATION_ARGS_PATH}.modelId"
    assert f"'{family}'" in refused.value.message and "Some Model" in refused.value.message


# --- pipelines per task ----------------------------------------------------------------------------

AUTO = {Task.IMAGE_TO_IMAGE: AUTO_IMAGE2IMAGE_PIPELINES_MAPPING, Task.INPAINT: AUTO_INPAINT_PIPELINES_MAPPING}


@pytest.mark.parametrize("name", NAMES)
def test_each_task_names_a_diffusers_pipeline_and_agrees_with_diffusers_own_mapping(name: str) -> None:
    family = family_of(name)
    text_to_image = family.pipeline_class()
    assert text_to_image is family.pipeline_class(Task.TEXT_TO_IMAGE)  # what a single file loads with
    # An edit-only pipeline (Qwen-Image-Edit-Plus's) is in diffusers' image-to-image mapping only.
    mappings = (AUTO_TEXT2IMAGE_PIPELINES_MAPPING, AUTO_IMAGE2IMAGE_PIPELINES_MAPPING)
    kind = next(key for mapping in mappings for key, cls in mapping.items() if cls is text_to_image)
    for task, named in family.pipelines.items():
        cls = family.pipeline_class(task)
        assert issubclass(cls, DiffusionPipeline) and cls.__name__ == named.name, task
        if task in AUTO and kind in AUTO[task]:  # AutoPipeline knows no inpaint pipeline for Kontext
            assert cls is AUTO[task][kind], task


# --- schedulers ------------------------------------------------------------------------------------


def test_scheduler_map_covers_exactly_leonardos_names() -> None:
    assert tuple(SCHEDULER_MAP) == SCHEDULERS


def test_leonardo_schedulers_keep_the_model_schedule_and_apply_overrides() -> None:
    base = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear").config
    leonardo = leonardo_scheduler("LEONARDO", base)
    assert isinstance(leonardo, DPMSolverMultistepScheduler)
    assert leonardo.config.use_karras_sigmas is True
    assert leonardo.config.beta_end == 0.012
    dpm = leonardo_scheduler("DPM_SOLVER", base)
    assert isinstance(dpm, DPMSolverMultistepScheduler)
    assert dpm.config.use_karras_sigmas is False
    for name, (cls, _) in SCHEDULER_MAP.items():
        assert type(leonardo_scheduler(name, base)) is cls.load()
    # PNDM and DDIM get the settings SD pipelines expect even from a config that lacks them.
    pndm = leonardo_scheduler("PNDM", EulerDiscreteScheduler().config)
    assert isinstance(pndm, PNDMScheduler)
    assert pndm.config.skip_prk_steps is True


def test_leonardo_schedulers_reject_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown scheduler"):
        leonardo_scheduler("SOMETHING_ELSE", EulerDiscreteScheduler().config)


# --- SDXL-Lightning: distilled steps, trailing Euler, CFG off by default, the file's UNet -----------


@pytest.mark.parametrize("steps", [1, 8, 10, 30])
def test_lightning_runs_explicit_step_counts_on_its_trailing_schedule(steps: int) -> None:
    request = replace(BASE, num_inference_steps=steps)
    family_of("sdxl-lightning").check(request)  # accepted: Leonardo clients send 10-60
    scheduler = family_of("sdxl-lightning").make_scheduler("EULER_DISCRETE", {"num_train_timesteps": 1000})
    scheduler.set_timesteps(steps)
    assert len(scheduler.timesteps) == steps and int(scheduler.timesteps[0]) == 999  # trailing: starts at T


@pytest.mark.parametrize("scheduler", [s for s in SCHEDULERS if s != "EULER_DISCRETE"])
def test_lightning_refuses_other_schedulers(scheduler: str) -> None:
    with pytest.raises(NotSupported) as refused:
        family_of("sdxl-lightning").check(replace(BASE, scheduler=scheduler))
    assert refused.value.path == f"{GENERATION_ARGS_PATH}.scheduler"
    assert "SDXL-Lightning" in refused.value.message


def test_lightning_samples_trailing_euler(models: dict[str, ModelSource]) -> None:
    """ByteDance's setting: SDXL's Euler with trailing spacing, which starts at the last timestep."""
    assert models["sdxl-lightning"].folder is not None
    config = EulerDiscreteScheduler.load_config(models["sdxl-lightning"].folder / "scheduler")
    assert config["timestep_spacing"] == "leading"  # the base's own
    scheduler = family_of("sdxl-lightning").make_scheduler("EULER_DISCRETE", config)
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
    rows = [row for row in ROWS if row.family == "sdxl-lightning"]
    assert rows
    for row in rows:
        steps = row.quality.default_steps
        assert row.weights.unet_file and f"_{steps}step_" in row.weights.unet_file, row.name
        assert row.quality.default_guidance == 1.0
        family_of(row.family).check(replace(BASE, num_inference_steps=steps))
