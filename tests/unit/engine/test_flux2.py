"""FLUX.2 [dev] and [klein] on their tiny models: native reference pictures (they change the pixels,
scale 0 leaves them, more than the family takes is a 400 by field), the edit and inpaint tasks,
the knobs they refuse by name, the [dev] folder's processor loaded without torchvision, and
detection of saved folders. (Size, count, seeds and steps: `test_families.py`, for every family.)"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sfumato.engine.families import family_of
from sfumato.engine.renderer import Renderer
from sfumato.engine.request import ControlGuide, HiresPass, InitImage, Mask, Task
from sfumato.engine.weights.detect import detect
from sfumato.engine.weights.loaders import ModelSource, load_pipeline
from sfumato.errors import NotSupported
from tests.support.images import picture
from tests.support.render_requests import draw, refs, tiny_render

NAMES = ("flux2", "flux2-klein")
BASE = tiny_render(seed=11, guidance_scale=4.0)
# Smaller than the 64 px FLUX.2's image processor demands: the family enlarges it.
REFERENCE = picture((48, 40))
OTHER = Image.new("RGB", (80, 64), (30, 200, 90))


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.mark.parametrize("name", NAMES)
def test_reference_pictures_change_the_pixels_and_scale_zero_leaves_them(
    renderer: Renderer, models: dict[str, ModelSource], name: str
) -> None:
    source = models[name]
    base = draw(renderer, source, BASE)
    one = draw(renderer, source, replace(BASE, references=refs(REFERENCE)))
    assert not np.array_equal(one, base)
    assert np.array_equal(draw(renderer, source, replace(BASE, references=refs(REFERENCE))), one)
    assert not np.array_equal(draw(renderer, source, replace(BASE, references=refs(REFERENCE, OTHER))), one)
    assert np.array_equal(draw(renderer, source, replace(BASE, references=refs(REFERENCE, scale=0.0))), base)
    assert np.array_equal(draw(renderer, source, BASE), base)  # nothing stays behind for the next request


@pytest.mark.parametrize("name", NAMES)
def test_guidance_scale_reaches_the_model(renderer: Renderer, models: dict[str, ModelSource], name: str) -> None:
    """[dev]: the distilled guidance input; [klein] (the tiny one is a base model): CFG above 1."""
    source = models[name]
    assert not np.array_equal(draw(renderer, source, BASE), draw(renderer, source, replace(BASE, guidance_scale=1.0)))


@pytest.mark.parametrize(("name", "limit"), [("flux2", 6), ("flux2-klein", 4)])
@pytest.mark.parametrize(("kind", "field"), [("image", "imagePrompts"), ("style", "controlnets")])
def test_more_references_than_the_family_takes_are_refused_by_field(
    name: str, limit: int, kind: str, field: str
) -> None:
    family = family_of(name)
    family.check(replace(BASE, references=refs(*[REFERENCE] * limit, kind=kind)))
    with pytest.raises(NotSupported) as raised:
        family.check(replace(BASE, references=refs(*[REFERENCE] * (limit + 1), kind=kind)))
    assert raised.value.path.endswith(f".{field}")
    assert f"at most {limit} reference pictures" in raised.value.message


@pytest.mark.parametrize("name", NAMES)
def test_an_edit_draws_from_its_init_image_which_takes_a_reference_slot(
    renderer: Renderer, models: dict[str, ModelSource], name: str
) -> None:
    source, family = models[name], family_of(name)
    base = draw(renderer, source, BASE)
    edit = replace(BASE, task=Task.IMAGE_TO_IMAGE, init=InitImage(REFERENCE, 1.0))
    edited = draw(renderer, source, edit)
    assert not np.array_equal(edited, base)
    assert not np.array_equal(draw(renderer, source, replace(edit, init=InitImage(OTHER, 1.0))), edited)
    assert not np.array_equal(draw(renderer, source, replace(edit, references=refs(OTHER))), edited)
    assert not family.traits.init_strength  # an edit has no noise strength: the service refuses init_strength
    with pytest.raises(NotSupported, match="at most"):
        family.check(replace(edit, references=refs(*[REFERENCE] * family.native_references)))


def test_klein_inpaints_with_a_strength_keeping_the_unmasked_pixels_and_takes_one_reference(
    renderer: Renderer, models: dict[str, ModelSource]
) -> None:
    source, init = models["flux2-klein"], picture((32, 32))
    mask = Image.new("L", (32, 32), 0)
    mask.paste(255, (0, 0, 16, 32))
    request = replace(BASE, task=Task.INPAINT, init=InitImage(init, 1.0), mask=Mask(mask))
    painted = draw(renderer, source, request)
    assert np.array_equal(painted[:, 16:], np.asarray(init)[:, 16:].astype(np.int16))
    assert not np.array_equal(painted[:, :16], np.asarray(init)[:, :16].astype(np.int16))
    assert not np.array_equal(draw(renderer, source, replace(request, init=InitImage(init, 0.5))), painted)
    assert not np.array_equal(draw(renderer, source, replace(request, references=refs(OTHER))), painted)
    with pytest.raises(NotSupported, match="at most 1 reference picture on inpaint"):
        family_of("flux2-klein").check(replace(request, references=refs(OTHER, OTHER)))


GUIDE = ControlGuide("canny", REFERENCE, 1.0)
REFUSED = [
    ("negative_prompt", {"negative_prompt": "blurry"}),
    ("controlnets", {"controls": (GUIDE,)}),
    ("tiling", {"tiling": True}),
    ("highResolution", {"hires": HiresPass(64, 64, 0.5)}),
    ("imagePrompts", {"references": refs(Image.new("RGB", (640, 64)))}),  # 10:1, beyond FLUX.2's 8:1
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("field", "change"), REFUSED, ids=[field for field, _ in REFUSED])
def test_knobs_flux2_cannot_honour_are_refused_by_field(name: str, field: str, change: dict[str, object]) -> None:
    with pytest.raises(NotSupported) as raised:
        family_of(name).check(replace(BASE, **change))  # type: ignore[arg-type]
    assert raised.value.path.endswith(f".{field}")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("field", "change"), [("scheduler", {"scheduler": "DDIM"})])
def test_flow_matching_rules_apply(name: str, field: str, change: dict[str, object]) -> None:
    with pytest.raises(NotSupported) as raised:
        family_of(name).check(replace(BASE, **change))  # type: ignore[arg-type]
    assert raised.value.path.endswith(f".{field}")


def test_dev_has_no_inpaint_pipeline() -> None:
    request = replace(BASE, task=Task.INPAINT, init=InitImage(REFERENCE, 0.5), mask=Mask(REFERENCE.convert("L")))
    with pytest.raises(NotSupported) as raised:
        family_of("flux2").check(request)
    assert raised.value.path.endswith(".canvasRequestType")


def test_a_dev_folder_saving_its_pixtral_processor_loads_without_torchvision(
    models: dict[str, ModelSource], tmp_path: Path
) -> None:
    """The real FLUX.2 [dev] folder names a `PixtralProcessor`, which transformers will not build
    without torchvision; the family loads the tokenizer inside it instead."""
    assert models["flux2"].folder is not None
    folder = tmp_path / "flux2-dev"
    shutil.copytree(models["flux2"].folder, folder)
    index = json.loads((folder / "model_index.json").read_text())
    index["tokenizer"] = ["transformers", "PixtralProcessor"]
    (folder / "model_index.json").write_text(json.dumps(index))
    template = folder / "tokenizer" / "chat_template.jinja"  # kept as a processor keeps it
    (folder / "tokenizer" / "chat_template.json").write_text(json.dumps({"chat_template": template.read_text()}))
    template.unlink()
    pipe = load_pipeline(ModelSource.from_folder(folder, "flux2"))
    assert type(pipe).__name__ == "Flux2Pipeline" and pipe.tokenizer.chat_template
    renderer = Renderer()
    loaded = renderer.render(ModelSource.from_folder(folder, "flux2"), BASE)[0]
    assert np.array_equal(np.asarray(loaded), np.asarray(renderer.render(models["flux2"], BASE)[0]))


@pytest.mark.parametrize("name", NAMES)
def test_a_saved_folder_is_detected_as_its_family(models: dict[str, ModelSource], name: str) -> None:
    assert models[name].folder is not None
    detected = detect(models[name].folder)
    assert detected.family == name and not detected.single_file
    assert detected.defaults == family_of(name).defaults
