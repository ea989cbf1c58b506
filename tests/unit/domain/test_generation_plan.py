"""The persisted plan survives upgrades both ways: older plans load, newer keys are ignored."""

from __future__ import annotations

from typing import Any

import pytest

from sfumato.domain.generation import PLAN_VERSION, GenerationPlan, PlanTooNew

# A plan exactly as releases before versioning stored it: no `version`, these keys.
UNVERSIONED: dict[str, Any] = {
    "prompt": "a cat", "negative_prompt": "", "pipeline_prompt": "a cat, cinematic", "pipeline_negative_prompt": "blur",
    "catalog_key": "sfumato-tiny", "model_id": "b24e16ff-06e3-43eb-8d33-4416c2d75876", "sd_version": "v1_5",
    "width": 64, "height": 64, "num_images": 1, "num_inference_steps": 10, "guidance_scale": 7.0, "seed": 42,
    "scheduler": "EULER_DISCRETE", "preset_style": "CINEMATIC", "alchemy": False, "public": False,
}  # fmt: skip


def test_a_plan_from_before_versioning_loads() -> None:
    plan = GenerationPlan.from_json(dict(UNVERSIONED))
    assert (plan.pipeline_prompt, plan.seed, plan.catalog_key) == ("a cat, cinematic", 42, "sfumato-tiny")


def test_a_plan_round_trips_and_says_its_version() -> None:
    plan = GenerationPlan.from_json(dict(UNVERSIONED))
    stored = plan.to_json()
    assert stored["version"] == PLAN_VERSION
    # Version 2's and 3's fields, missing from the old plan, came in at the values that draw from
    # text alone, with no guidance, element or finishing pass.
    added = {
        "task": "text-to-image",
        "init_key": None,
        "mask_key": None,
        "init_strength": None,
        "transparent": False,
        "unzoom_amount": None,
        "controls": (),
        "references": (),
        "elements": (),
        "tiling": False,
        "finishing": {
            "hires_scale": None,
            "hires_strength": None,
            "guidance_rescale": 0.0,
            "hires_width": None,
            "hires_height": None,
            "ultra": False,
            "high_resolution": False,
            "photo_real": False,
            "photo_real_version": None,
            "photo_real_strength": None,
            "prompt_magic": False,
            "prompt_magic_version": None,
            "prompt_magic_strength": None,
            "contrast": None,
            "contrast_ratio": None,
            "high_contrast": None,
        },
        "original_prompt": None,
        "slug": None,
    }
    assert {k: v for k, v in stored.items() if k != "version"} == {**UNVERSIONED, **added}
    assert GenerationPlan.from_json(stored) == plan


def test_a_key_this_release_does_not_know_is_ignored() -> None:
    newer = {**UNVERSIONED, "version": PLAN_VERSION, "hires_pass": None}
    assert GenerationPlan.from_json(newer) == GenerationPlan.from_json(dict(UNVERSIONED))


def test_a_plan_of_a_newer_version_is_refused() -> None:
    with pytest.raises(PlanTooNew):
        GenerationPlan.from_json({**UNVERSIONED, "version": PLAN_VERSION + 1})


def test_a_plan_of_a_newer_version_reads_when_not_to_run() -> None:
    newer = {**UNVERSIONED, "version": PLAN_VERSION + 1, "init_image": {"id": "x"}}
    assert GenerationPlan.from_json(newer, to_run=False) == GenerationPlan.from_json(dict(UNVERSIONED))
