"""v2's per-slug rules (sfumato.domain.v2_models) name the parameter they refuse, and a checked
request becomes the v1 `GenerationRequest` it stands for."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from sfumato.domain.generation import GenerationRequest
from sfumato.domain.image_inputs import ImageOrigin, ImageRef
from sfumato.domain.v2_models import RULES, rules_for
from sfumato.domain.v2_rules import V2Guide, V2Image, V2Request, check, generation_request, matched_size, v2_path
from sfumato.errors import ClientError

PORTRAITS = ("8e2bc543-6ee2-45f9-bcd9-594b6ce84dcd", "ab5a4220-7c42-41e5-a578-eddb9fed3d75")
DYNAMIC, VIBRANT = "111dc692-d470-4eec-b791-3475abac4c46", "dee282d3-891f-4f73-ba02-7f8131e5541b"


def request(slug: str, **fields: Any) -> V2Request:
    sent = frozenset(name for name, value in fields.items() if value is not None and name != "guides")
    return V2Request(slug=slug, prompt=fields.pop("prompt", "a cat"), sent=sent, **fields)


def ref(kind: str = "image_reference", index: int = 0, image_type: str = "UPLOADED", **image: Any) -> V2Guide:
    strength = image.pop("strength", None)
    sent = V2Image(image_type, **({"id": "i"} if not image and image_type not in ("URL", "BASE64") else image))
    return V2Guide(kind, sent, strength, f"guidances.{kind}[{index}]")


def refused(req: V2Request) -> str:
    with pytest.raises(ClientError) as caught:
        check(req, rules_for(req.slug))
    return caught.value.path.removeprefix("$.parameters.")


@pytest.mark.parametrize(
    ("req", "field"),
    [
        (request("flux-pro-2.0", quantity=9), "quantity"),
        (request("flux-pro-2.0", quantity=0), "quantity"),
        (request("flux-pro-2.0", width=1448), "width"),  # over 1440
        (request("flux-pro-2.0", height=252), "height"),  # under 256
        (request("phoenix-v1.0", height=1020), "height"),  # not a multiple of 8
        (request("flux-pro-2.0", seed=4_294_967_296), "seed"),
        (request("phoenix-v1.0", seed=2_147_483_638), "seed"),
        (request("nano-banana-2", width=1000), "width"),  # not in the discrete list
        (request("nano-banana-2", width=0, height=1024), "width"),  # 0 goes with 0
        (request("nano-banana-2", width=0, height=0), "width"),  # 0/0 matches a reference: none sent
        (request("gpt-image-1.5", width=1024, height=1280), "width"),  # not one of its three sizes
        (request("gpt-image-2", width=512, height=512), "width"),  # under 655 360 pixels
        (request("gpt-image-2", width=3840, height=1280), "width"),  # a side of 3840 is not below 3840
        (request("gpt-image-2", width=1008, height=1000), "height"),  # not a multiple of 16
        (request("phoenix-v1.0", prompt="x" * 2001), "prompt"),
        (request("gpt-image-1.5", mode="FAST"), "mode"),  # retired on 2026-05-04
        (request("gpt-image-1.5", quality="ULTRA"), "quality"),
        (request("flux-pro-2.0", quality="HIGH"), "quality"),  # no quality on FLUX.2 Pro
        (request("lucid-origin", contrast="HIGH"), "contrast"),  # contrast is Phoenix's
        (request("phoenix-v1.0", contrast="MAX"), "contrast"),
        (request("flux-pro-2.0", negative_prompt="blur"), "negative_prompt"),
        (request("flux-pro-2.0", tiling=True), "tiling"),
        (request("flux-pro-2.0", prompt_enhance="MAYBE"), "prompt_enhance"),
        (request("nano-banana-2-lite", style_ids=(DYNAMIC, VIBRANT)), "style_ids"),  # limit 1
        (request("nano-banana-2", style_ids=(VIBRANT,)), "style_ids[0]"),  # not on the NB list
        (request("flux-pro-2.0", style_ids=("00000000-0000-0000-0000-000000000000",)), "style_ids[0]"),
        (request("flux-pro-2.0", guides=tuple(ref(index=i) for i in range(5))), "guidances.image_reference"),
        (request("flux-pro-2.0", guides=(ref(image_type="BASE64", data="x"),)),
         "guidances.image_reference[0].image.type"),
        (request("gpt-image-2", guides=(ref(strength="HIGH"),)), "guidances.image_reference[0].strength"),
        (request("flux-pro-2.0", guides=(ref(strength="ULTRA"),)), "guidances.image_reference[0].strength"),
        (request("sfumato-tiny", guides=(ref(image_type="URL"),)), "guidances.image_reference[0].image.url"),
        (request("sfumato-tiny", guides=(ref(image_type="BASE64", data="x", id="y"),)),
         "guidances.image_reference[0].image.id"),
        (request("ideogram-v3.0", guides=(ref(),)), "guidances.image_reference"),  # no guidances on Ideogram
        (request("phoenix-v1.0", guides=(ref(),)), "guidances.image_reference"),  # Phoenix has its own lists
        (request("phoenix-v1.0", guides=(ref("content"), ref("content", 1))), "guidances.content"),
        (request("lucid-origin", guides=(ref("character"),)), "guidances.character"),
        (request("phoenix-v1.0", guides=(ref("content", strength="ULTRA"),)), "guidances.content[0].strength"),
    ],
)  # fmt: skip
def test_a_rule_violation_names_its_parameter(req: V2Request, field: str) -> None:
    assert refused(req) == field


def test_what_the_guides_allow_passes() -> None:
    for slug in RULES:
        check(request(slug), rules_for(slug))  # every slug's defaults pass its own rules
    check(request("nano-banana-2", width=0, height=0, guides=(ref(),)), rules_for("nano-banana-2"))
    check(request("gpt-image-2", width=1376, height=768, quality="HIGH"), rules_for("gpt-image-2"))
    check(request("phoenix-v1.0", style_ids=(PORTRAITS[0],), contrast="LOW", mode="ULTRA", tiling=True,
                  negative_prompt="blur", guides=tuple(ref("style", i, strength="MAX") for i in range(4))),
          rules_for("phoenix-v1.0"))  # fmt: skip
    for portrait in PORTRAITS:  # both Portrait UUIDs, on a list that has Portrait
        check(request("seedream-4.0", style_ids=(portrait,)), rules_for("seedream-4.0"))
    check(request("some-new-slug", quantity=8), rules_for("some-new-slug"))  # a served slug no guide documents


def translated(req: V2Request, images: dict[str, ImageRef] | None = None, **kwargs: Any) -> GenerationRequest:
    rules = rules_for(req.slug)
    check(req, rules)
    options = {"model_id": "m", "default_steps": 20, "images": images or {}, "size": None, "enhance": False}
    return generation_request(req, rules, **{**options, **kwargs})


def test_a_checked_request_is_the_v1_request_it_stands_for() -> None:
    plain = translated(request("flux-pro-2.0", seed=9, width=1440, height=810, style_ids=(PORTRAITS[1],)))
    assert (plain.model_id, plain.seed, plain.width, plain.height, plain.num_images) == ("m", 9, 1440, 810, 1)
    assert (plain.preset_style, plain.slug, plain.alchemy, plain.num_inference_steps) == ("PORTRAIT", "flux-pro-2.0",
                                                                                          False, None)  # fmt: skip
    assert plain.limits.size_max == 1440 and plain.limits.images_max == 8 and plain.limits.prompt_chars == 2000
    # Defaults per slug: Kontext draws 4 in Dynamic; FLUX.2 Pro one with no style.
    kontext = translated(request("flux-kontext-pro"))
    assert (kontext.num_images, kontext.preset_style, kontext.width) == (4, "DYNAMIC", 1024)
    assert translated(request("flux-pro-2.0")).preset_style == "NONE"


def test_quality_and_mode_set_steps_from_the_models_default() -> None:
    steps = {value: translated(request("openai/gpt-image-2.5-flare", quality=value)).num_inference_steps
             for value in ("LOW", "MEDIUM", "HIGH", "MAX")}  # fmt: skip
    assert steps == {"LOW": 10, "MEDIUM": None, "HIGH": 30, "MAX": 50}
    assert translated(request("phoenix-v1.0", mode="ULTRA")).num_inference_steps == 40
    assert translated(request("phoenix-v1.0")).num_inference_steps is None  # FAST, the default: the model's own


def test_guidances_become_weighted_references_an_init_image_and_contrast() -> None:
    guides = (ref("image_reference", strength="LOW"), ref("image_reference", 1))
    images = {g.field: ImageRef(ImageOrigin.UPLOADED, f"id{i}", g.field) for i, g in enumerate(guides)}
    made = translated(request("flux-pro-2.0", guides=guides), images)
    assert [(r.kind, r.image.id, r.weight) for r in made.references] == [("image", "id0", 0.2), ("image", "id1", 0.6)]

    phoenix = (ref("style", strength="MAX"), ref("character", strength="HIGH"), ref("image_to_image", strength="HIGH"))
    images = {g.field: ImageRef(ImageOrigin.GENERATED, g.kind, g.field) for g in phoenix}
    made = translated(request("phoenix-v1.0", guides=phoenix, contrast="HIGH", tiling=True), images)
    assert sorted((r.kind, r.weight) for r in made.references) == [("character", 1.66), ("style", 1.8)]
    assert made.init_image is not None and made.init_image.id == "image_to_image" and made.init_strength == 0.7
    assert made.finishing.contrast == 4.5 and made.tiling


def test_width_and_height_zero_match_the_reference_at_about_a_megapixel() -> None:
    assert matched_size((1600, 900)) == (1360, 768)
    assert matched_size((64, 64)) == (1024, 1024)
    req = request("nano-banana-2", width=0, height=0, guides=(ref(),))
    made = translated(req, {"guidances.image_reference[0]": ImageRef(ImageOrigin.UPLOADED, "i", "f")}, size=(1360, 768))
    assert (made.width, made.height) == (1360, 768)
    assert replace(req, width=None).width is None


@pytest.mark.parametrize(
    ("v1_path", "v2"),
    [
        ("$.selectionSet.sdGenerationJob.args.arg1.num_images", "$.parameters.quantity"),
        ("$.selectionSet.sdGenerationJob.args.arg1.imagePrompts", "$.parameters.guidances"),
        ("$.selectionSet.sdGenerationJob.args.arg1.controlnets[0].initImageId", "$.parameters.guidances"),
        ("$.selectionSet.sdGenerationJob.args.arg1.modelId", "$.model"),
        ("$.selectionSet.sdGenerationJob.args.arg1.scheduler", "$.parameters"),
        ("$.parameters.width", "$.parameters.width"),
    ],
)
def test_a_later_rules_refusal_names_the_v2_parameter(v1_path: str, v2: str) -> None:
    assert v2_path(v1_path) == v2
