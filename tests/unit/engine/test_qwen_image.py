"""Qwen-Image and Qwen-Image-Edit-Plus on their tiny models: Leonardo's guidance as true CFG, the
image-to-image, inpaint and hi-res passes of Qwen-Image, Edit Plus's native pictures (one and two
references change the pixels, the init image is Picture 1, scale 0 leaves one out, more than three
are a 400 by field), the knobs both refuse by name, the processor loaded without torchvision, and
detection of saved folders. (Size, count, seeds and steps: `test_families.py`, for every family.)"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from transformers import Qwen2VLProcessor

from sfumato.engine.families import family_of
from sfumato.engine.families.qwen_image import BLANK_NEGATIVE
from sfumato.engine.renderer import Renderer, warm_up
from sfumato.engine.request import ControlGuide, HiresPass, InitImage, Mask, Task
from sfumato.engine.weights.detect import detect
from sfumato.engine.weights.loaders import ModelSource, load_pipeline
from sfumato.errors import NotSupported
from tests.support.images import picture
from tests.support.render_requests import draw, refs, tiny_render

NAMES = ("qwen-image", "qwen-image-edit-plus")
BASE = tiny_render(seed=11, guidance_scale=4.0)
REFERENCE = picture((48, 40))
OTHER = Image.new("RGB", (64, 48), (30, 200, 90))
# Edit Plus renders without CFG: one transformer pass per step over each picture's 4096 latent tokens.
EDIT = replace(BASE, guidance_scale=1.0)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


# --- Qwen-Image ------------------------------------------------------------------------------------


def test_guidance_is_true_cfg_against_the_negative_prompt_or_a_blank_one() -> None:
    family = family_of("qwen-image")
    kwargs = family.pipeline_kwargs(BASE)
    assert (kwargs["true_cfg_scale"], kwargs["negative_prompt"]) == (4.0, BLANK_NEGATIVE)
    assert kwargs["guidance_scale"] is None  # the input of guidance-distilled transformers
    assert family.pipeline_kwargs(replace(BASE, negative_prompt="fog"))["negative_prompt"] == "fog"
    off = family.pipeline_kwargs(replace(BASE, guidance_scale=1.0))
    assert (off["true_cfg_scale"], off["negative_prompt"]) == (1.0, None)


def test_guidance_and_the_negative_prompt_change_the_pixels(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    source = models["qwen-image"]
    cfg = draw(renderer, source, BASE)
    assert not np.array_equal(draw(renderer, source, replace(BASE, guidance_scale=1.0)), cfg)
    assert not np.array_equal(draw(renderer, source, replace(BASE, negative_prompt="fog")), cfg)
    with pytest.raises(NotSupported) as raised:
        family_of("qwen-image").check(replace(BASE, guidance_scale=1.0, negative_prompt="fog"))
    assert raised.value.path.endswith(".negative_prompt")


def test_image_to_image_inpaint_and_hires_passes(renderer: Renderer, models: dict[str, ModelSource]) -> None:
    source, init = models["qwen-image"], picture((32, 32))
    base = draw(renderer, source, BASE)
    edit = replace(BASE, task=Task.IMAGE_TO_IMAGE, init=InitImage(init, 0.5))
    edited = draw(renderer, source, edit)
    assert not np.array_equal(edited, base)
    assert not np.array_equal(draw(renderer, source, replace(edit, init=InitImage(init, 1.0))), edited)
    mask = Image.new("L", (32, 32), 0)
    mask.paste(255, (0, 0, 16, 32))
    painted = draw(renderer, source, replace(BASE, task=Task.INPAINT, init=InitImage(init, 1.0), mask=Mask(mask)))
    assert np.array_equal(painted[:, 16:], np.asarray(init)[:, 16:].astype(np.int16))
    assert not np.array_equal(painted[:, :16], np.asarray(init)[:, :16].astype(np.int16))
    hires = renderer.render(source, replace(BASE, hires=HiresPass(64, 64, 0.5)))[0]
    assert hires.size == (64, 64)


# --- Qwen-Image-Edit-Plus --------------------------------------------------------------------------


def test_one_and_two_references_change_the_pixels_and_scale_zero_leaves_one_out(
    renderer: Renderer, models: dict[str, ModelSource]
) -> None:
    source = models["qwen-image-edit-plus"]
    one = draw(renderer, source, replace(EDIT, references=refs(REFERENCE)))
    assert np.array_equal(draw(renderer, source, replace(EDIT, references=refs(REFERENCE))), one)
    assert not np.array_equal(draw(renderer, source, replace(EDIT, references=refs(REFERENCE, OTHER))), one)
    left_out = (*refs(REFERENCE), *refs(OTHER, scale=0.0))
    assert np.array_equal(draw(renderer, source, replace(EDIT, references=left_out)), one)


def test_an_edit_draws_from_its_init_image_which_takes_a_picture_slot(
    renderer: Renderer, models: dict[str, ModelSource]
) -> None:
    source, family = models["qwen-image-edit-plus"], family_of("qwen-image-edit-plus")
    edit = replace(EDIT, task=Task.IMAGE_TO_IMAGE, init=InitImage(REFERENCE, 1.0))
    edited = draw(renderer, source, edit)
    assert not np.array_equal(draw(renderer, source, replace(edit, references=refs(OTHER))), edited)
    assert not family.traits.init_strength  # no noise strength: the service refuses init_strength
    family.check(replace(edit, references=refs(OTHER, OTHER)))
    with pytest.raises(NotSupported) as raised:
        family.check(replace(edit, references=refs(OTHER, OTHER, OTHER)))
    assert raised.value.path.endswith(".imagePrompts") and "at most 2 reference pictures" in raised.value.message


@pytest.mark.parametrize(("kind", "field"), [("image", "imagePrompts"), ("character", "controlnets")])
def test_more_than_three_pictures_are_refused_by_field(kind: str, field: str) -> None:
    family = family_of("qwen-image-edit-plus")
    family.check(replace(BASE, references=refs(*[REFERENCE] * 3, kind=kind)))
    with pytest.raises(NotSupported) as raised:
        family.check(replace(BASE, references=refs(*[REFERENCE] * 4, kind=kind)))
    assert raised.value.path.endswith(f".{field}") and "at most 3 reference pictures" in raised.value.message


GUIDE = ControlGuide("canny", REFERENCE, 1.0)
REFUSED = [
    ("qwen-image", "controlnets", {"controls": (GUIDE,)}),
    ("qwen-image", "tiling", {"tiling": True}),
    ("qwen-image", "imagePrompts", {"references": refs(REFERENCE)}),
    ("qwen-image", "scheduler", {"scheduler": "DDIM"}),
    ("qwen-image-edit-plus", "init_image_id", {}),  # nothing to edit: a prompt alone is Qwen-Image's
    ("qwen-image-edit-plus", "init_image_id", {"references": refs(REFERENCE, scale=0.0)}),
    ("qwen-image-edit-plus", "controlnets", {"references": refs(REFERENCE), "controls": (GUIDE,)}),
    ("qwen-image-edit-plus", "tiling", {"references": refs(REFERENCE), "tiling": True}),
    ("qwen-image-edit-plus", "highResolution", {"references": refs(REFERENCE), "hires": HiresPass(64, 64, 0.5)}),
    ("qwen-image-edit-plus", "canvasRequestType", {
        "task": Task.INPAINT, "init": InitImage(REFERENCE, 0.5), "mask": Mask(REFERENCE.convert("L"))}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "field", "change"), REFUSED, ids=[f"{n}-{f}" for n, f, _ in REFUSED])
def test_knobs_they_cannot_honour_are_refused_by_field(name: str, field: str, change: dict[str, object]) -> None:
    with pytest.raises(NotSupported) as raised:
        family_of(name).check(replace(BASE, **change))
    assert raised.value.path.endswith(f".{field}")


def test_the_edit_plus_processor_loads_without_torchvision(models: dict[str, ModelSource]) -> None:
    """The folder names `Qwen2VLProcessor` (as the published one does), which transformers builds only
    with torchvision: the family loads its tokenizer and PIL image processor itself."""
    pipe = load_pipeline(models["qwen-image-edit-plus"])
    assert type(pipe).__name__ == "QwenImageEditPlusPipeline"
    assert isinstance(pipe.processor, Qwen2VLProcessor)
    assert pipe.processor.video_processor is None


@pytest.mark.parametrize("name", NAMES)
def test_a_saved_folder_is_detected_as_its_family(models: dict[str, ModelSource], name: str) -> None:
    assert models[name].folder is not None
    detected = detect(models[name].folder)
    assert detected.family == name and not detected.single_file
    assert detected.defaults == family_of(name).defaults


def test_the_warm_up_render_edits_a_grey_picture(models: dict[str, ModelSource]) -> None:
    """A compiled model's warm-up calls the pipeline with a bare text request (no request features,
    no `check`): Edit Plus, which needs a picture, gets a grey one instead of failing its load."""
    family = family_of("qwen-image-edit-plus")
    [grey] = family.image_kwargs(BASE)["image"]
    assert grey.size == (BASE.width, BASE.height) and grey.getextrema() == ((128, 128),) * 3
    assert family.image_kwargs(replace(BASE, references=refs(REFERENCE))) == {}  # the pictures are the references
    source = replace(models["qwen-image-edit-plus"], native_size=(32, 32))
    warm_up(load_pipeline(source), family, source)  # renders (it raised before the grey picture)
