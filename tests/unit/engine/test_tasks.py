"""Image-to-image, inpaint and outpaint on every family's tiny model: what each family accepts and
refuses, what the pictures keep of the init image, and the task pipelines the renderer makes from
each cached model (`from_pipe`: the same modules, cached and evicted with their base).

The tiny models' VAEs have random weights, so they do not reproduce a picture: an output's pixel
distance to its init image says nothing. What does measure the init strength is how much the init
image decides the picture: two different init images give clearly different pictures at low noise,
and nearly the same one at strength 1, which keeps nothing of them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from sfumato.catalog import TINY_MODEL_ID, ModelCatalog
from sfumato.config import EngineSettings
from sfumato.engine import Engine, InitImage, Mask, RenderRequest, Task, outpaint_canvas
from sfumato.engine.families import FAMILIES, family_of
from sfumato.engine.families.base import by_task
from sfumato.engine.families.sd import SD15
from sfumato.engine.renderer import Renderer
from sfumato.engine.runtime.cache import PipelineCache
from sfumato.engine.weights.loaders import ModelSource, derive_pipeline, load_pipeline
from sfumato.errors import GENERATION_ARGS_PATH, ClientError, NotSupported
from tests.support.render_requests import tiny_render
from tests.support.tiny_families import ensure_tiny_family_model

NAMES = sorted(FAMILIES)
# FLUX.2 [dev] has no inpaint pipeline in diffusers (refused by field: `test_flux2.py`).
INPAINTING = [name for name in NAMES if Task.INPAINT in FAMILIES[name].pipelines]
# Ideogram 4 is text-to-image only in diffusers (refused by field: `test_zimage_ideogram.py`).
IMAGE_TO_IMAGE = [name for name in NAMES if Task.IMAGE_TO_IMAGE in FAMILIES[name].pipelines]
WIDTH, HEIGHT = 32, 16  # not square, so a swapped width and height shows; on every family's 16-px grid


def gradient(width: int = WIDTH, height: int = HEIGHT) -> Image.Image:
    """A smooth picture: red across, green down."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[..., 0] = np.linspace(0, 255, width)[None, :]
    pixels[..., 1] = np.linspace(0, 255, height)[:, None]
    pixels[..., 2] = 120
    return Image.fromarray(pixels)


PICTURE = gradient()
OTHER = Image.fromarray(255 - np.asarray(PICTURE))  # the same picture, inverted
RIGHT_HALF = np.zeros((HEIGHT, WIDTH), bool)
RIGHT_HALF[:, WIDTH // 2 :] = True
MASK = Image.fromarray(np.where(RIGHT_HALF, 255, 0).astype(np.uint8))  # white repaints the right half

# 4 steps: enough for a strength of 0.25 to leave one step.
TEXT = tiny_render(width=WIDTH, height=HEIGHT, seed=1234, guidance_scale=3.5, num_inference_steps=4)


def img2img(image: Image.Image = PICTURE, strength: float = 0.5, **changes: Any) -> RenderRequest:
    return replace(TEXT, task=Task.IMAGE_TO_IMAGE, init=InitImage(image, strength), **changes)


def inpaint(
    image: Image.Image = PICTURE, mask: Image.Image = MASK, strength: float = 1.0, **changes: Any
) -> RenderRequest:
    return replace(TEXT, task=Task.INPAINT, init=InitImage(image, strength), mask=Mask(mask), **changes)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(np.int16)


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(pixels(a) - pixels(b)).mean())


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


# --- what each family accepts and refuses ------------------------------------------------------------


@pytest.mark.parametrize("request_", [img2img(), inpaint()], ids=["image-to-image", "inpaint"])
@pytest.mark.parametrize("name", NAMES)
def test_every_family_accepts_image_to_image_and_inpaint(name: str, request_: RenderRequest) -> None:
    takes = INPAINTING if request_.task is Task.INPAINT else IMAGE_TO_IMAGE
    if name in takes:
        family_of(name).check(request_)
    else:
        with pytest.raises(NotSupported, match=f"no {request_.task.value} pipeline"):
            family_of(name).check(request_)


class NoInpaint(SD15):
    """A family whose diffusers pipelines stop at image-to-image (none of the registered ones)."""

    name = "no-inpaint"
    pipelines = by_task(
        "diffusers.pipelines.stable_diffusion",
        text_to_image=("pipeline_stable_diffusion", "StableDiffusionPipeline"),
        image_to_image=("pipeline_stable_diffusion_img2img", "StableDiffusionImg2ImgPipeline"),
    )


def test_a_task_without_a_diffusers_pipeline_is_refused_naming_the_field() -> None:
    family = NoInpaint()
    family.check(img2img())
    with pytest.raises(NotSupported) as refused:
        family.check(inpaint())
    assert refused.value.path == f"{GENERATION_ARGS_PATH}.canvasRequestType"
    assert "inpaint is not supported for no-inpaint models" in refused.value.message


@pytest.mark.parametrize("name", INPAINTING)
def test_a_mask_of_another_size_than_the_init_image_is_refused(name: str) -> None:
    with pytest.raises(ClientError) as refused:
        family_of(name).check(inpaint(mask=MASK.resize((WIDTH // 2, HEIGHT))))
    assert refused.value.path == f"{GENERATION_ARGS_PATH}.canvasMaskId" and refused.value.status == 400
    assert refused.value.message == "the mask (16x16) must be the size of the init image (32x16)"


@pytest.mark.parametrize(
    ("name", "steps", "strength", "expected"),
    [
        ("sd15", 4, 0.25, 1),
        ("sdxl", 10, 0.35, 3),  # int(3.5): SD's pipelines round down
        ("sdxl-lightning", 8, 0.5, 4),
        ("sd3", 10, 0.35, 4),  # 10 - int(6.5): the flow-matching pipelines round the other way
        ("flux", 2, 0.3, 1),
        ("flux-kontext", 2, 0.3, 2),  # image-to-image without strength: every step
    ],
)
def test_the_steps_a_strength_leaves_are_the_steps_the_pipeline_runs(
    renderer: Renderer, models: dict[str, ModelSource], name: str, steps: int, strength: float, expected: int
) -> None:
    request = img2img(strength=strength, num_inference_steps=steps)
    assert family_of(name).denoising_steps(request) == expected
    seen: list[tuple[int, int]] = []
    renderer.render(models[name], request, lambda done, total: seen.append((done, total)))
    assert seen == [(step, expected) for step in range(1, expected + 1)]


# SD's pipelines run int(steps * strength) steps; the flow-matching ones leave none only at strength 0.
@pytest.mark.parametrize(("name", "strength"), [("sd15", 0.4), ("sdxl", 0.2), ("flux", 0.0), ("sd3", 0.0)])
def test_a_strength_that_leaves_no_step_is_refused_naming_init_strength(name: str, strength: float) -> None:
    for request in (
        img2img(strength=strength, num_inference_steps=2),
        inpaint(strength=strength, num_inference_steps=2),
    ):
        with pytest.raises(NotSupported) as refused:
            family_of(name).check(request)
        assert refused.value.path == f"{GENERATION_ARGS_PATH}.init_strength"
        assert f"2 steps at an init strength of {strength:g} leave no denoising step" in refused.value.message


def test_flux_rounds_a_share_of_steps_up_where_sd_rounds_it_down() -> None:
    """At 2 steps and strength 0.4 FLUX's pipelines run one step, SD's none."""
    family_of("flux").check(img2img(strength=0.4, num_inference_steps=2))
    with pytest.raises(NotSupported):
        family_of("sd15").check(img2img(strength=0.4, num_inference_steps=2))


def test_only_kontexts_image_to_image_ignores_the_strength() -> None:
    """And FLUX.2's and Qwen-Image-Edit-Plus's, whose image-to-image is the same kind of edit."""
    editing = {"flux-kontext", "flux2", "flux2-klein", "qwen-image-edit-plus"}
    assert {name for name in IMAGE_TO_IMAGE if not family_of(name).traits.init_strength} == editing
    family_of("flux-kontext").check(img2img(strength=0.0, num_inference_steps=2))  # no step is skipped


# --- image-to-image ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", IMAGE_TO_IMAGE)
def test_image_to_image_draws_the_requested_size_from_an_init_image_of_any_size(
    renderer: Renderer, models: dict[str, ModelSource], name: str
) -> None:
    """The init image is stretched to the request's size, whatever its own size and mode."""
    init = gradient(64, 48).convert("RGBA")
    images = renderer.render(models[name], img2img(init, num_images=2))
    assert [image.size for image in images] == [(WIDTH, HEIGHT)] * 2
    assert all(image.mode == "RGB" for image in images)
    again = renderer.render(models[name], img2img(init, num_images=2))
    assert all(np.array_equal(pixels(a), pixels(b)) for a, b in zip(images, again, strict=True))


@pytest.mark.parametrize("name", [name for name in NAMES if family_of(name).traits.init_strength])
def test_image_to_image_follows_its_init_image_less_as_the_strength_grows(
    renderer: Renderer, models: dict[str, ModelSource], name: str
) -> None:
    def follows(strength: float) -> float:
        """How far apart the pictures drawn from two different init images are."""
        first, second = (renderer.render(models[name], img2img(image, strength))[0] for image in (PICTURE, OTHER))
        return mean_difference(first, second)

    low_noise, all_noise = follows(0.25), follows(1.0)
    assert low_noise > 2 * all_noise and low_noise > 1, (low_noise, all_noise)


def test_kontext_edits_its_init_image_as_a_context_image_whatever_the_strength(
    renderer: Renderer, models: dict[str, ModelSource]
) -> None:
    """The transformer sees the init image's latents beside the picture's own (twice the tokens)."""
    transformer = renderer.pipeline(models["flux-kontext"], Task.IMAGE_TO_IMAGE).transformer
    tokens: list[torch.Tensor] = []
    hook = transformer.register_forward_pre_hook(
        lambda _module, _args, kwargs: tokens.append(kwargs["hidden_states"].clone()), with_kwargs=True
    )
    try:
        renderer.render(models["flux-kontext"], replace(TEXT, num_inference_steps=1))
        drawn = [
            renderer.render(models["flux-kontext"], img2img(image, 0.3, num_inference_steps=1))[0]
            for image in (PICTURE, OTHER)
        ]
        stronger = renderer.render(models["flux-kontext"], img2img(PICTURE, 0.9, num_inference_steps=1))[0]
    finally:
        hook.remove()
    text_only, with_picture, with_other, _ = tokens
    picture_tokens = text_only.shape[1]  # (WIDTH / 16) x (HEIGHT / 16) packed latent patches
    assert with_picture.shape[1] == with_other.shape[1] == 2 * picture_tokens
    assert not torch.equal(with_picture[:, picture_tokens:], with_other[:, picture_tokens:])
    assert np.array_equal(pixels(drawn[0]), pixels(stronger))


def test_lightning_image_to_image_runs_the_last_steps_of_its_trailing_schedule(
    renderer: Renderer, models: dict[str, ModelSource]
) -> None:
    timesteps: list[int] = []
    unet = renderer.pipeline(models["sdxl-lightning"], Task.IMAGE_TO_IMAGE).unet
    hook = unet.register_forward_pre_hook(lambda _module, args: timesteps.append(int(args[1])))
    try:
        renderer.render(models["sdxl-lightning"], img2img(strength=0.5, num_inference_steps=8, guidance_scale=1.0))
    finally:
        hook.remove()
    assert timesteps == [499, 374, 249, 124]  # the second half of 999, 874, ..., 124


# --- inpaint and outpaint ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", INPAINTING)
def test_inpaint_keeps_every_pixel_outside_the_mask_and_repaints_the_rest(
    renderer: Renderer, models: dict[str, ModelSource], name: str
) -> None:
    images = renderer.render(models[name], inpaint(num_images=2, num_inference_steps=2))
    assert [image.size for image in images] == [(WIDTH, HEIGHT)] * 2
    for image in images:
        difference = np.abs(pixels(image) - pixels(PICTURE)).max(axis=2)
        assert not difference[~RIGHT_HALF].any()  # exactly the init image's pixels
        assert difference[RIGHT_HALF].mean() > 10
    assert not np.array_equal(pixels(images[0]), pixels(images[1]))  # image i is seeded seed + i


def test_inpaint_stretches_init_image_and_mask_alike_to_the_requested_size(
    renderer: Renderer, models: dict[str, ModelSource]
) -> None:
    """Nearest-neighbour for the mask: what it keeps stays exactly what the stretched picture shows."""
    bigger = inpaint(PICTURE.resize((64, 32)), MASK.resize((64, 32), Image.Resampling.NEAREST), num_inference_steps=2)
    image = renderer.render(models["sd15"], bigger)[0]
    expected = PICTURE.resize((64, 32)).resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)
    assert np.array_equal(pixels(image)[~RIGHT_HALF], pixels(expected)[~RIGHT_HALF])


def test_a_grey_mask_blends_the_picture_and_the_init_image(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    """Diffusers repaints where the mask is at least half white; the paste-back then blends by the grey."""
    grey = Image.new("L", (WIDTH, HEIGHT), 128)
    repainted = renderer.render(models["sd15"], inpaint(mask=Image.new("L", grey.size, 255), num_inference_steps=2))[0]
    blended = renderer.render(models["sd15"], inpaint(mask=grey, num_inference_steps=2))[0]
    assert np.array_equal(pixels(blended), pixels(Image.composite(repainted, PICTURE, grey)))
    assert mean_difference(blended, PICTURE) > 0 and mean_difference(blended, repainted) > 0


def test_an_outpaint_through_the_door_keeps_the_source_in_the_centre(tmp_path: Path) -> None:
    """Outpaint = the source centred on a larger canvas, inpainted outside it (the built-in model)."""
    source = gradient(16, 16)
    canvas = outpaint_canvas(source, 1.0)
    assert canvas.image.size == (32, 32) and canvas.box == (8, 8, 24, 24)
    entry = ModelCatalog.load().get(TINY_MODEL_ID)
    assert entry is not None
    request = inpaint(canvas.image, canvas.mask, width=32, height=32, num_inference_steps=2)
    image = Engine(EngineSettings(device="cpu"), tmp_path).render(entry, request)[0]
    assert np.array_equal(pixels(image.crop(canvas.box)), pixels(source))
    margin = np.ones((32, 32), bool)
    margin[8:24, 8:24] = False
    assert np.abs(pixels(image) - pixels(canvas.image)).max(axis=2)[margin].mean() > 10


# --- the task pipelines: made once from the cached model, sharing its modules -------------------------


@pytest.mark.parametrize("name", NAMES)
def test_task_pipelines_are_the_familys_classes_over_the_loaded_models_modules(
    renderer: Renderer, models: dict[str, ModelSource], name: str
) -> None:
    base = renderer.load(models[name])
    for task in family_of(name).pipelines:
        pipe = renderer.pipeline(models[name], task)
        assert type(pipe) is family_of(name).pipeline_class(task), task
        assert renderer.pipeline(models[name], task) is pipe  # made once
        for component, module in base.components.items():
            if isinstance(module, torch.nn.Module):
                assert pipe.components[component] is module, (task, component)


def test_task_pipelines_are_counted_once_and_evicted_with_their_model(tmp_path: Path) -> None:
    sources = [ModelSource.from_folder(ensure_tiny_family_model("sd15", tmp_path / f"m{i}")) for i in range(2)]
    sizing: PipelineCache[Any] = PipelineCache()
    Renderer(cache=sizing).load(sources[0])
    one_model = sizing.stats().host_bytes
    cache: PipelineCache[Any] = PipelineCache(host_budget_bytes=int(1.5 * one_model))
    renderer = Renderer(cache=cache)
    renderer.render(sources[0], img2img(num_inference_steps=2))
    first_inpaint = renderer.pipeline(sources[0], Task.INPAINT)
    assert cache.stats().entries == 1 and cache.stats().host_bytes == one_model  # the shared weights, once
    renderer.render(sources[1], TEXT)  # over budget with two models: the first leaves, tasks and all
    assert cache.stats().evictions == 1
    assert renderer.pipeline(sources[0], Task.INPAINT) is not first_inpaint and cache.stats().loads == 3


def test_a_task_pipeline_keeps_the_loaded_dtype_and_tensors(tmp_path: Path) -> None:
    """A concrete class's `from_pipe` would cast every shared module to float32 without being told."""
    base: Any = load_pipeline(ModelSource.from_folder(ensure_tiny_family_model("sd15", tmp_path / "m")), torch.bfloat16)
    storage = base.unet.conv_in.weight.data_ptr()
    derived: Any = derive_pipeline(base, family_of("sd15").pipeline_class(Task.INPAINT))
    assert derived.unet is base.unet and derived.unet.conv_in.weight.data_ptr() == storage
    assert {module.dtype for module in (derived.unet, derived.vae, derived.text_encoder)} == {torch.bfloat16}
