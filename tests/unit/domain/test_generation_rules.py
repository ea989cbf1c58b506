"""Leonardo's ranges and defaults, resolved against a catalog entry."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sfumato.catalog import TINY_MODEL_ID, ModelCatalog
from sfumato.domain.generation import GenerationRequest, resolve
from sfumato.domain.image_inputs import DEFAULT_INIT_STRENGTH, ImageOrigin, ImageRef, SourceImages, diffusers_strength
from sfumato.engine import Engine
from sfumato.errors import ClientError

CATALOG = ModelCatalog.load()
TINY = CATALOG.get(TINY_MODEL_ID)
assert TINY is not None
TINY_TRAITS = Engine.traits(TINY)


def plan_for(**fields: object):  # type: ignore[no-untyped-def]
    request = GenerationRequest(prompt="a cat", **fields)  # type: ignore[arg-type]
    return resolve(request, TINY, TINY_MODEL_ID, TINY_TRAITS)  # type: ignore[arg-type]


def test_defaults_follow_the_spec() -> None:
    plan = plan_for()
    assert (plan.width, plan.height, plan.num_images) == (1024, 768, 4)
    assert plan.alchemy is True and plan.preset_style == "DYNAMIC"
    assert plan.scheduler == "EULER_DISCRETE"
    assert plan.num_inference_steps == TINY.quality.alchemy_steps
    assert 0 <= plan.seed <= 2_147_483_637
    assert plan.model_id == TINY_MODEL_ID and plan.sd_version == "v1_5"


def test_alchemy_off_uses_plain_steps_and_leonardo_preset() -> None:
    plan = plan_for(alchemy=False)
    assert plan.preset_style == "LEONARDO" and plan.num_inference_steps == TINY.quality.default_steps


def test_a_preset_applies_without_alchemy_too() -> None:
    """The SDKs send DYNAMIC with `alchemy: false`; an explicit style is honoured, not refused."""
    cinematic = plan_for(alchemy=False, preset_style="CINEMATIC")
    assert cinematic.preset_style == "CINEMATIC" and cinematic.alchemy is False
    assert cinematic.pipeline_prompt == plan_for(alchemy=True, preset_style="CINEMATIC").pipeline_prompt
    assert cinematic.pipeline_prompt.startswith("cinematic film still of a cat")
    assert cinematic.num_inference_steps == TINY.quality.default_steps  # alchemy off: plain steps still
    sdk_default = plan_for(alchemy=False, preset_style="DYNAMIC")
    assert sdk_default.preset_style == "DYNAMIC" and "dynamic composition" in sdk_default.pipeline_prompt


def test_alchemy_off_allows_sizes_over_1024() -> None:
    plan = plan_for(alchemy=False, preset_style="DYNAMIC", width=1536, height=512)
    assert (plan.width, plan.height, plan.num_images) == (1536, 512, 4)


def test_preset_template_wraps_prompt_and_negative() -> None:
    plan = plan_for(preset_style="CINEMATIC", negative_prompt="rain")
    assert "a cat" in plan.pipeline_prompt and plan.pipeline_prompt != "a cat"
    assert plan.pipeline_negative_prompt.startswith("rain")
    assert plan.prompt == "a cat" and plan.negative_prompt == "rain"
    assert plan_for(preset_style="NONE").pipeline_prompt == "a cat"


def test_flux_keeps_the_callers_negative_prompt_but_not_a_styles_stock_negatives() -> None:
    """On FLUX any negative prompt costs a second transformer pass (true CFG): a style's terms are left out."""
    flux = CATALOG.get("1dd50843-d653-4516-a8e3-f0238ee453ff")  # Flux Schnell
    assert flux is not None and flux.family == "flux"
    traits = Engine.traits(flux)
    styled = resolve(GenerationRequest(prompt="a cat", preset_style="CINEMATIC"), flux, str(flux.id), traits)
    assert styled.pipeline_prompt != "a cat" and styled.pipeline_negative_prompt == ""
    rain = GenerationRequest(prompt="a cat", preset_style="CINEMATIC", negative_prompt="rain")
    own = resolve(rain, flux, "x", traits)
    assert own.pipeline_negative_prompt == "rain"
    assert plan_for(preset_style="CINEMATIC").pipeline_negative_prompt != ""  # CFG models keep them


def test_explicit_values_win() -> None:
    plan = plan_for(width=64, height=128, num_images=8, num_inference_steps=12, guidance_scale=3.5, seed=7,
                    scheduler="DDIM", alchemy=False, preset_style="NONE")  # fmt: skip
    assert (plan.width, plan.height, plan.num_images, plan.num_inference_steps) == (64, 128, 8, 12)
    assert (plan.guidance_scale, plan.seed, plan.scheduler) == (3.5, 7, "DDIM")


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"width": 1004}, "width", "multiple of 8"),
        ({"height": 24}, "height", "between 32"),
        ({"width": 1536, "alchemy": True}, "width", "with alchemy"),
        ({"num_images": 5, "width": 1024}, "num_images", "between 1 and 4"),
        ({"num_images": 9, "width": 512, "height": 512}, "num_images", "between 1 and 8"),
        ({"num_images": 0, "width": 512, "height": 512}, "num_images", "Too many images"),
        ({"num_inference_steps": 9}, "num_inference_steps", "between 10 and 60"),
        ({"guidance_scale": 0.5}, "guidance_scale", "between 1 and 20"),
        ({"seed": 2**32}, "seed", "between 0 and 4294967295"),
        ({"seed": -1}, "seed", "between 0 and 4294967295"),
        ({"seed": 10**400}, "seed", "got 1000"),
        ({"num_inference_steps": 10**400}, "num_inference_steps", "between 10 and 60"),
        ({"negative_prompt": "x" * 1501}, "negative_prompt", "maximum length of 1500 characters"),
    ],
)
def test_rules_name_the_field(fields: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ClientError) as raised:
        plan_for(**fields)
    assert raised.value.path.endswith(f".{field}")
    assert words in raised.value.message
    assert raised.value.status == 400


def test_flux_seed_limit_is_lower() -> None:
    flux = CATALOG.get("1dd50843-d653-4516-a8e3-f0238ee453ff")
    assert flux is not None and flux.family == "flux"
    with pytest.raises(ClientError, match="2147483637"):
        resolve(GenerationRequest(prompt="x", seed=2_147_483_638), flux, "k", Engine.traits(flux))


@pytest.mark.parametrize("prompt", ["", "   ", "\u200b\u200b", "\u200d\ufeff\u2060", "\x01\x7f\t\n", "\u2028"])
def test_a_prompt_with_nothing_visible_is_blank(prompt: str) -> None:
    with pytest.raises(ClientError) as raised:
        resolve(GenerationRequest(prompt=prompt), TINY, TINY_MODEL_ID, TINY_TRAITS)
    assert raised.value.path.endswith(".prompt") and "must not be empty" in raised.value.message


def test_prompt_caps_count_code_points() -> None:
    """1500 emoji are 1500 characters (3000 UTF-16 units, 6000 UTF-8 bytes): accepted."""
    emoji = "\U0001f98a" * 1500
    both = GenerationRequest(prompt=emoji, negative_prompt=emoji)
    assert resolve(both, TINY, TINY_MODEL_ID, TINY_TRAITS).prompt == emoji
    with pytest.raises(ClientError):
        resolve(GenerationRequest(prompt=emoji + "x"), TINY, TINY_MODEL_ID, TINY_TRAITS)


# --- images a generation starts from -------------------------------------------------------------

UPLOAD = ImageRef(ImageOrigin.UPLOADED, "u1", "init_image_id")
MASK = ImageRef(ImageOrigin.UPLOADED, "m1", "canvasMaskId")


def image_plan(images: SourceImages, traits: object = TINY_TRAITS, **fields: object):  # type: ignore[no-untyped-def]
    request = GenerationRequest(prompt="a cat", **fields)  # type: ignore[arg-type]
    return resolve(request, TINY, TINY_MODEL_ID, traits, images)  # type: ignore[arg-type]


def test_an_init_image_makes_image_to_image_and_a_mask_inpaint() -> None:
    plain = image_plan(SourceImages(init_key="k/init.png"), init_image=UPLOAD, init_strength=0.9)
    assert (plain.task, plain.init_key, plain.mask_key, plain.init_strength) == (
        "image-to-image", "k/init.png", None, 0.9,
    )  # fmt: skip
    masked = image_plan(SourceImages("k/init.png", "k/mask.png"), init_image=UPLOAD, mask_image=MASK)
    assert (masked.task, masked.mask_key, masked.init_strength) == ("inpaint", "k/mask.png", DEFAULT_INIT_STRENGTH)
    assert plan_for().task == "text-to-image" and plan_for().init_strength is None


@pytest.mark.parametrize("strength", [0.05, 0.95, 1.0])
def test_init_strength_is_leonardos_range(strength: float) -> None:
    with pytest.raises(ClientError) as raised:
        image_plan(SourceImages(init_key="k"), init_image=UPLOAD, init_strength=strength)
    assert raised.value.path.endswith(".init_strength") and "between 0.1 and 0.9" in raised.value.message


def test_init_strength_without_an_image_is_refused_not_ignored() -> None:
    with pytest.raises(ClientError) as raised:
        plan_for(init_strength=0.5)
    assert raised.value.path.endswith(".init_strength")


def test_a_family_without_a_noise_strength_refuses_init_strength() -> None:
    kontext = next(entry for entry in CATALOG.listed() if entry.family == "flux-kontext")
    traits = Engine.traits(kontext)
    assert traits.init_strength is False
    with pytest.raises(ClientError) as raised:
        image_plan(SourceImages(init_key="k"), traits, init_image=UPLOAD, init_strength=0.5)
    assert raised.value.path.endswith(".init_strength")
    assert image_plan(SourceImages(init_key="k"), traits, init_image=UPLOAD).task == "image-to-image"


def test_leonardos_init_strength_is_the_complement_of_diffusers_strength() -> None:
    assert diffusers_strength(0.9) == 0.1 and diffusers_strength(0.1) == 0.9  # exact: 10 steps keep 1
    assert diffusers_strength(0.5) == 0.5


@pytest.mark.parametrize("amount", [0.0, -0.5, 1.5])
def test_unzoom_amount_is_bounded(amount: float) -> None:
    with pytest.raises(ClientError) as raised:
        image_plan(SourceImages(init_key="k"), init_image=UPLOAD, unzoom_amount=amount)
    assert raised.value.path.endswith(".unzoomAmount")


def test_unzoom_is_an_inpaint_of_the_margin() -> None:
    plan = image_plan(SourceImages(init_key="k"), init_image=UPLOAD, unzoom_amount=0.5)
    assert (plan.task, plan.unzoom_amount, plan.mask_key) == ("inpaint", 0.5, None)


def test_a_v2_slug_takes_its_own_sides_which_v1_refuses() -> None:
    """FLUX.2 Pro's documented 16:9 is 1440x810: v2's rules take it (the engine draws it on its grid
    and resizes), while v1 keeps Leonardo's multiples of 8 and its 1536 ceiling."""
    from sfumato.domain.v2_models import rules_for
    from sfumato.domain.v2_rules import limits_for

    wide = GenerationRequest(prompt="a cat", width=1440, height=810, num_images=1, alchemy=False)
    plan = resolve(replace(wide, limits=limits_for(rules_for("flux-pro-2.0"))), TINY, TINY_MODEL_ID, TINY_TRAITS)
    assert (plan.width, plan.height) == (1440, 810)
    with pytest.raises(ClientError, match="must be a multiple of 8") as refused:
        resolve(wide, TINY, TINY_MODEL_ID, TINY_TRAITS)
    assert refused.value.path.endswith(".height")
