"""The finishing and style knobs resolved against catalog rows: Leonardo's ranges and
incompatibilities refused by name, and what each knob sets (the hi-res pass, the refine strength,
CFG rescale, the style terms, the echo fields)."""

from __future__ import annotations

from typing import Any

import pytest

from sfumato.catalog import LEONARDO_DEFAULT_MODEL_ID, TINY_MODEL_ID, CatalogEntry, ModelCatalog
from sfumato.domain.finishing import (
    GUIDANCE_RESCALE_AT_LOW_CONTRAST,
    HIRES_STRENGTH,
    FinishingPlan,
    FinishingRequest,
)
from sfumato.domain.generation import GenerationPlan, GenerationRequest, resolve
from sfumato.engine import Engine
from sfumato.errors import GENERATION_ARGS_PATH, ClientError

CATALOG = ModelCatalog.load()
KINO_XL = "aa77f04e-3eec-4034-9c07-d0f619684628"  # an SDXL row, as PhotoReal v2 wants
PHOENIX = "de7d3faf-762f-48e0-b3b7-9d0ac3a3fcf3"


def entry(model_id: str) -> CatalogEntry:
    found = CATALOG.get(model_id)
    assert found is not None
    return found


def plan_for(model_id: str | None = TINY_MODEL_ID, **knobs: Any) -> GenerationPlan:
    """A 64x48 request (no alchemy unless asked) with `knobs` as its finishing fields."""
    alchemy = knobs.pop("alchemy", False)
    preset = knobs.pop("preset_style", None)
    model = entry(model_id or TINY_MODEL_ID)
    request = GenerationRequest(prompt="a cat", model_id=model_id, width=64, height=48, alchemy=alchemy,
                                preset_style=preset, finishing=FinishingRequest(**knobs))  # fmt: skip
    return resolve(request, model, model_id or TINY_MODEL_ID, Engine.traits(model))


def refused(field: str, *words: str, **knobs: Any) -> None:
    with pytest.raises(ClientError) as raised:
        plan_for(**knobs)
    assert raised.value.path == f"{GENERATION_ARGS_PATH}.{field}", raised.value.message
    for word in words:
        assert word in raised.value.message


def test_no_knob_leaves_one_pass_at_the_requested_size() -> None:
    plan = plan_for()
    assert plan.finishing == FinishingPlan() and plan.finishing.output_size(64, 48) == (64, 48)


@pytest.mark.parametrize(
    ("knobs", "scale", "size"),
    [
        ({"high_resolution": True}, 1.5, (96, 80)),  # 72 rounds to the 16-px grid
        ({"ultra": True}, 2.0, (128, 96)),
        ({"upscale_ratio": 1.25}, 1.25, (80, 64)),
        ({"upscale_ratio": 1.25, "ultra": True}, 2.0, (128, 96)),  # the largest asked for
    ],
)
def test_enlarging_knobs_ask_for_a_hires_pass(knobs: dict[str, Any], scale: float, size: tuple[int, int]) -> None:
    finishing = plan_for(**knobs).finishing
    assert (finishing.hires_scale, finishing.hires_strength) == (scale, HIRES_STRENGTH)
    assert (finishing.hires_width, finishing.hires_height) == size == finishing.output_size(64, 48)
    assert finishing.ultra is bool(knobs.get("ultra")) and finishing.high_resolution is bool(
        knobs.get("high_resolution")
    )


def test_upscale_ratio_one_enlarges_nothing_and_its_range_is_checked() -> None:
    assert plan_for(upscale_ratio=1.0).finishing.hires_scale is None
    refused("upscaleRatio", "between 1 and 2", upscale_ratio=2.5)


def test_an_output_past_the_cap_is_refused_naming_the_knob() -> None:
    request = GenerationRequest(prompt="a cat", width=1536, height=1024, alchemy=False,
                                finishing=FinishingRequest(ultra=True))  # fmt: skip
    tiny = entry(TINY_MODEL_ID)
    with pytest.raises(ClientError) as raised:
        resolve(request, tiny, TINY_MODEL_ID, Engine.traits(tiny))
    assert raised.value.path.endswith(".ultra") and "3072x2048" in raised.value.message


def test_ultra_replaces_alchemy_which_the_sdks_always_send() -> None:
    plan = plan_for(ultra=True, alchemy=True)
    assert plan.alchemy is False and plan.finishing.ultra is True


def test_photo_real_adds_photographic_terms_and_a_refine_pass_at_its_strength() -> None:
    plan = plan_for(model_id=KINO_XL, photo_real=True, alchemy=True, photo_real_strength=0.45)
    finishing = plan.finishing
    assert (finishing.photo_real, finishing.photo_real_version, finishing.photo_real_strength) == (True, "v2", 0.45)
    assert (finishing.hires_scale, finishing.hires_strength) == (1.0, 0.45)
    assert finishing.output_size(64, 48) == (64, 48)  # a refine pass keeps the size
    assert "RAW photo" in plan.pipeline_prompt and "bokeh" in plan.pipeline_prompt
    assert "cartoon" in plan.pipeline_negative_prompt
    assert plan.pipeline_prompt != plan_for(model_id=KINO_XL, alchemy=True).pipeline_prompt
    assert plan_for(model_id=KINO_XL, photo_real=True, alchemy=True).finishing.photo_real_strength == 0.55


def test_photo_real_with_the_sdks_defaults_is_v2_on_lightning_xl() -> None:
    """The SDKs send modelId Lightning XL, alchemy: true and DYNAMIC with every request."""
    plan = plan_for(model_id=LEONARDO_DEFAULT_MODEL_ID, alchemy=True, preset_style="DYNAMIC", photo_real=True)
    assert plan.finishing.photo_real_version == "v2" and plan.preset_style == "DYNAMIC"


def test_photo_real_v1_picks_its_preset_and_needs_no_model_id() -> None:
    plan = plan_for(model_id=None, photo_real=True, alchemy=True, preset_style="DYNAMIC")
    assert plan.finishing.photo_real_version == "v1" and plan.preset_style == "CINEMATIC"
    assert plan_for(model_id=None, photo_real=True, alchemy=True, preset_style="VIBRANT").preset_style == "VIBRANT"
    refused("presetStyle", "CINEMATIC, CREATIVE", model_id=None, photo_real=True, alchemy=True, preset_style="ANIME")
    refused("modelId", "PhotoReal v1", photo_real=True, photo_real_version="v1")


@pytest.mark.parametrize(
    ("field", "words", "knobs"),
    [
        ("photoRealVersion", ("SDXL",), {"photo_real": True, "alchemy": True}),  # the tiny model is SD 1.5
        ("photoReal", ("v2 needs alchemy",), {"model_id": KINO_XL, "photo_real": True}),
        ("photoReal", ("v1 needs alchemy",), {"model_id": None, "photo_real": True}),
        ("photoReal", ("ultra turns off",), {"model_id": KINO_XL, "photo_real": True, "alchemy": True, "ultra": True}),
        (
            "photoRealVersion",
            ("v1 or v2",),
            {"model_id": KINO_XL, "photo_real": True, "alchemy": True, "photo_real_version": "v3"},
        ),
        (
            "photoRealStrength",
            ("0.55",),
            {"model_id": KINO_XL, "photo_real": True, "alchemy": True, "photo_real_strength": 0.6},
        ),
        ("photoRealStrength", ("photoReal: true",), {"photo_real_strength": 0.5}),
        (
            "promptMagic",
            ("not both",),
            {"model_id": KINO_XL, "alchemy": True, "photo_real": True, "prompt_magic": True},
        ),
        ("promptMagicVersion", ("v2 or v3",), {"prompt_magic": True, "prompt_magic_version": "v4"}),
        ("promptMagicStrength", ("between 0.1 and 1.0",), {"prompt_magic": True, "prompt_magic_strength": 1.5}),
        ("promptMagicStrength", ("promptMagic: true",), {"prompt_magic_strength": 0.5}),
        ("contrast", ("one of 1, 1.3",), {"contrast": 2.0}),
        ("contrast", ("2.5 or more for Phoenix",), {"model_id": PHOENIX, "alchemy": True, "contrast": 1.8}),
        ("contrastRatio", ("alchemy: true",), {"contrast_ratio": 0.5}),
        ("contrastRatio", ("between 0 and 1",), {"contrast_ratio": 1.5, "alchemy": True}),
        ("contrastRatio", ("one contrast knob",), {"contrast": 3.0, "contrast_ratio": 0.0, "alchemy": True}),
        ("expandedDomain", ("not published",), {"expanded_domain": True}),
        ("fantasyAvatar", ("identity-preserving",), {"fantasy_avatar": True}),
    ],
)
def test_leonardo_ranges_and_incompatibilities_are_refused_by_name(
    field: str, words: tuple[str, ...], knobs: dict[str, Any]
) -> None:
    refused(field, *words, **knobs)


def test_prompt_magic_is_a_refine_pass_and_v3_adds_terms_unless_raw() -> None:
    v3 = plan_for(prompt_magic=True, prompt_magic_strength=1.0)
    assert (v3.finishing.prompt_magic_version, v3.finishing.prompt_magic_strength) == ("v3", 1.0)
    assert (v3.finishing.hires_scale, v3.finishing.hires_strength) == (1.0, 0.5)
    assert plan_for(prompt_magic=True, prompt_magic_strength=0.1).finishing.hires_strength == 0.2
    assert "masterpiece" in v3.pipeline_prompt
    raw = plan_for(prompt_magic=True, high_contrast=False)
    assert "masterpiece" not in raw.pipeline_prompt and raw.finishing.high_contrast is False
    assert "masterpiece" not in plan_for(prompt_magic=True, prompt_magic_version="v2").pipeline_prompt
    with_ultra = plan_for(prompt_magic=True, ultra=True).finishing
    assert (with_ultra.hires_scale, with_ultra.hires_width) == (2.0, 128)  # one pass: enlarged, magic's strength


@pytest.mark.parametrize(
    ("knobs", "rescale", "term"),
    [
        ({"contrast": 1.0}, GUIDANCE_RESCALE_AT_LOW_CONTRAST, "soft contrast"),
        ({"contrast": 3.0}, 0.3, None),
        ({"contrast": 4.5}, 0.0, "high contrast"),
        ({"contrast_ratio": 0.2, "alchemy": True}, 0.56, "soft contrast"),
        ({"high_contrast": True}, 0.0, "high contrast"),
    ],
)
def test_contrast_sets_cfg_rescale_and_style_terms(knobs: dict[str, Any], rescale: float, term: str | None) -> None:
    plan = plan_for(**knobs)
    assert plan.finishing.guidance_rescale == rescale
    base = plan_for(alchemy=knobs.get("alchemy", False)).pipeline_prompt
    if term is None:
        assert plan.pipeline_prompt == base
    else:
        assert plan.pipeline_prompt.startswith(base) and term in plan.pipeline_prompt
    assert plan.finishing.hires_scale is None  # contrast adds no pass


def test_the_plan_round_trips_its_finishing_part() -> None:
    plan = plan_for(model_id=KINO_XL, alchemy=True, photo_real=True, high_resolution=True, contrast=4.0)
    assert (plan.finishing.hires_width, plan.finishing.hires_strength, plan.finishing.guidance_rescale) == (
        96,
        0.55,
        0.1,
    )
    assert GenerationPlan.from_json(plan.to_json()) == plan
