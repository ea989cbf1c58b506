"""Z-Image and Ideogram 4 on their tiny models: how each spells guidance (Z-Image's CFG scale is
classic CFG's minus one; Ideogram 4's is a per-step schedule), Z-Image's image-to-image, inpaint
and hi-res passes, what each refuses by name, their LoRA elements, and that `sfumato models add`
recognises their folders."""

from __future__ import annotations

import inspect
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from sfumato.catalog import AuxFace, AuxWeights, ElementEntry, ModelCatalog
from sfumato.engine import ControlGuide, HiresPass, ImageReference, InitImage, LoraWeight, Mask, Task
from sfumato.engine.auxiliary import AuxiliaryModels
from sfumato.engine.families import family_of
from sfumato.engine.families.ideogram import guidance_schedule, text_tokens_bound
from sfumato.engine.renderer import Renderer
from sfumato.engine.weights.detect import detect
from sfumato.engine.weights.loaders import ModelSource
from sfumato.errors import GENERATION_ARGS_PATH, NotSupported
from tests.support.loras import family_lora
from tests.support.render_requests import tiny_render

BASE = tiny_render(height=16, num_inference_steps=2, guidance_scale=3.5)
ELEMENT = "0e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b"  # a test element of each family
PICTURE = Image.new("RGB", (BASE.width, BASE.height), (200, 30, 30))


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB")).astype(np.int16)


def refused_field(name: str, **changes: Any) -> str:
    with pytest.raises(NotSupported) as refused:
        family_of(name).check(replace(BASE, **changes))
    assert refused.value.path.startswith(f"{GENERATION_ARGS_PATH}.")
    return refused.value.path.removeprefix(f"{GENERATION_ARGS_PATH}.")


# --- Z-Image ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("guidance", "passes"), [(1.0, 1), (2.0, 2)])
def test_z_image_guidance_one_is_cfg_off_and_above_is_real_cfg(
    renderer: Renderer, models: dict[str, ModelSource], guidance: float, passes: int
) -> None:
    """Leonardo's 1 is Z-Image's 0 (Turbo's card): one transformer pass per picture and step;
    above 1, the negative branch joins the batch."""
    batches: list[int] = []
    transformer = renderer.load(models["z-image"]).transformer
    hook = transformer.register_forward_pre_hook(lambda _module, args: batches.append(len(args[0])))
    try:
        renderer.render(models["z-image"], replace(BASE, num_images=2, guidance_scale=guidance))
    finally:
        hook.remove()
    assert batches == [2 * passes] * BASE.num_inference_steps


def test_z_image_guidance_changes_the_picture(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    low, high = (renderer.render(models["z-image"], replace(BASE, guidance_scale=g))[0] for g in (1.0, 4.0))
    assert not np.array_equal(pixels(low), pixels(high))


def test_z_image_honours_a_negative_prompt_with_cfg_and_refuses_it_without(
    renderer: Renderer, models: dict[str, ModelSource]
) -> None:
    plain = renderer.render(models["z-image"], BASE)[0]
    negative = renderer.render(models["z-image"], replace(BASE, negative_prompt="fog"))[0]
    assert not np.array_equal(pixels(plain), pixels(negative))
    assert refused_field("z-image", negative_prompt="fog", guidance_scale=1.0) == "negative_prompt"


def test_z_image_draws_from_an_init_image_at_its_strength(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    request = replace(BASE, task=Task.IMAGE_TO_IMAGE, num_inference_steps=4, init=InitImage(PICTURE, 0.5))
    half = renderer.render(models["z-image"], request)[0]
    assert half.size == PICTURE.size
    assert np.array_equal(pixels(half), pixels(renderer.render(models["z-image"], request)[0]))
    stronger = renderer.render(models["z-image"], replace(request, init=InitImage(PICTURE, 1.0)))[0]
    assert not np.array_equal(pixels(half), pixels(stronger))


def test_z_image_inpaint_keeps_the_pixels_outside_the_mask(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    mask = Image.new("L", PICTURE.size, 0)
    mask.paste(255, (0, 0, PICTURE.width // 2, PICTURE.height))  # repaint the left half
    request = replace(BASE, task=Task.INPAINT, init=InitImage(PICTURE, 1.0), mask=Mask(mask))
    painted = pixels(renderer.render(models["z-image"], request)[0])
    kept = slice(PICTURE.width // 2, None)
    assert np.array_equal(painted[:, kept], pixels(PICTURE)[:, kept])
    assert not np.array_equal(painted[:, : PICTURE.width // 2], pixels(PICTURE)[:, : PICTURE.width // 2])


def test_z_image_runs_a_hires_pass(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    first = replace(BASE, num_inference_steps=3)
    [refined] = renderer.render(models["z-image"], replace(first, hires=HiresPass(width=64, height=32, strength=0.35)))
    assert refined.size == (64, 32)


def test_z_image_refuses_what_it_cannot_honour_by_name() -> None:
    guide = ControlGuide("canny", PICTURE, 0.5)
    assert refused_field("z-image", controls=(guide,)) == "controlnets"
    assert refused_field("z-image", references=(ImageReference("image", PICTURE, 0.5),)) == "imagePrompts"
    assert refused_field("z-image", tiling=True) == "tiling"
    assert refused_field("z-image", scheduler="DDIM") == "scheduler"


# --- Ideogram 4 ------------------------------------------------------------------------------------


def test_ideogram_schedule_at_the_defaults_is_the_pipelines_recommended_one() -> None:
    from diffusers.pipelines.ideogram4.pipeline_ideogram4 import Ideogram4Pipeline

    defaults = inspect.signature(Ideogram4Pipeline.__call__).parameters
    family = family_of("ideogram4").defaults
    assert (family.default_steps, family.default_guidance) == (defaults["num_inference_steps"].default, 7.0)
    assert guidance_schedule(7.0, 48) == list(defaults["guidance_schedule"].default)
    assert guidance_schedule(3.5, 2) == [3.5, 3.5]  # too few steps for a polish


def test_ideogram_guidance_changes_the_picture_reproducibly(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    low = renderer.render(models["ideogram4"], replace(BASE, guidance_scale=1.0))[0]
    high = renderer.render(models["ideogram4"], replace(BASE, guidance_scale=7.0))[0]
    assert not np.array_equal(pixels(low), pixels(high))
    again = renderer.render(models["ideogram4"], replace(BASE, guidance_scale=7.0))[0]
    assert np.array_equal(pixels(high), pixels(again))


def test_ideogram_pads_the_prompt_only_as_far_as_it_needs(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    """The padding is masked out: the picture is the pipeline's own 2048-token call's."""
    import torch

    request = replace(BASE, prompt="a poster that says «Sfumato» in bold")
    ours = pixels(renderer.render(models["ideogram4"], request)[0])
    pipe: Any = renderer.load(models["ideogram4"])
    kwargs = {**family_of("ideogram4").pipeline_kwargs(request), "max_sequence_length": 2048}
    generator = torch.Generator().manual_seed(request.seed)
    theirs = pixels(pipe(**kwargs, generator=[generator], output_type="pil").images[0])
    assert np.abs(ours - theirs).max() <= 1  # float rounding of the masked softmax only
    message = {"role": "user", "content": [{"type": "text", "text": request.prompt}]}  # as the pipeline sends it
    text = pipe.tokenizer.apply_chat_template([message], add_generation_prompt=True, tokenize=False)
    tokens = len(pipe.tokenizer(text, add_special_tokens=False)["input_ids"])
    assert len(request.prompt) < tokens <= text_tokens_bound(request.prompt) < 2048


def test_ideogram_refuses_what_it_cannot_honour_by_name() -> None:
    init = InitImage(PICTURE, 0.5)
    assert refused_field("ideogram4", negative_prompt="blurry") == "negative_prompt"
    assert refused_field("ideogram4", task=Task.IMAGE_TO_IMAGE, init=init) == "init_image_id"
    assert refused_field("ideogram4", task=Task.INPAINT, init=init, mask=Mask(PICTURE)) == "canvasRequestType"
    assert refused_field("ideogram4", hires=HiresPass(width=64, height=32, strength=0.35)) == "highResolution"
    assert refused_field("ideogram4", references=(ImageReference("style", PICTURE, 0.5),)) == "controlnets"
    assert refused_field("ideogram4", controls=(ControlGuide("canny", PICTURE, 0.5),)) == "controlnets"
    assert refused_field("ideogram4", tiling=True) == "tiling"
    assert refused_field("ideogram4", scheduler="LEONARDO") == "scheduler"


# --- both ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "side"), [("z-image", 1024), ("ideogram4", 2048)])
def test_models_add_recognises_a_saved_folder(models: dict[str, ModelSource], name: str, side: int) -> None:
    folder = models[name].folder
    assert folder is not None
    detected = detect(folder)
    assert (detected.family, detected.single_file) == (name, False)
    assert detected.defaults == family_of(name).defaults
    assert (detected.defaults.native_width, detected.defaults.native_height) == (side, side)


@pytest.mark.parametrize("name", ["z-image", "ideogram4"])
def test_seeds_take_the_32_bit_range(name: str) -> None:
    family_of(name).check(replace(BASE, seed=2**32 - 1))


@pytest.mark.parametrize("name", ["z-image", "ideogram4"])
def test_lora_elements_load_through_diffusers_loaders(
    models: dict[str, ModelSource], name: str, tmp_path: Path
) -> None:
    """An `[[element]]` row of `family = "<name>"`: weight 0 draws the base, weight 1 differs, and
    the base comes back after."""
    catalog = ModelCatalog.load()
    face = AuxFace(id=ELEMENT, name="tiny")
    path = family_lora(name, tmp_path / "lora", seed=9)
    catalog.elements[ELEMENT] = ElementEntry(
        face=face, weights=AuxWeights(path=str(path)), base_model="v3", family=name
    )
    renderer = Renderer(auxiliary=AuxiliaryModels(catalog, tmp_path / "models", lambda: "cpu", 1))

    def draw(*weights: float) -> np.ndarray:
        request = replace(BASE, loras=tuple(LoraWeight(ELEMENT, weight) for weight in weights))
        return pixels(renderer.render(models[name], request)[0])

    base = draw()
    assert np.array_equal(draw(0.0), base)
    assert not np.array_equal(draw(1.0), base)
    assert np.array_equal(draw(), base)
