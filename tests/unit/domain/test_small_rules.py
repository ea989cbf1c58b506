"""Keys, the job state machine, prices and presets."""

from __future__ import annotations

import pytest

from sfumato.domain.keys import hash_key, key_matches, new_key
from sfumato.domain.presets import PRESET_TEMPLATES, STYLE_UUID_PRESETS, apply_preset
from sfumato.domain.pricing import PriceModel
from sfumato.domain.status import GenerationStatus, IllegalTransition, JobState, transition
from sfumato.wire.enums import PresetStyle


def test_keys_are_uuids_stored_as_sha256() -> None:
    key = new_key()
    assert len(key.secret) == 36 and key.secret.count("-") == 4
    assert key.key_hash == hash_key(key.secret) and key.secret not in key.key_hash
    assert key.lookup_prefix == key.secret[:8]
    assert key_matches(key.secret, key.key_hash)
    assert not key_matches(new_key().secret, key.key_hash)


def test_terminal_states_are_final() -> None:
    assert transition(JobState.QUEUED, JobState.RUNNING) is JobState.RUNNING
    assert transition(JobState.RUNNING, JobState.QUEUED) is JobState.QUEUED
    for terminal in (JobState.DONE, JobState.FAILED):
        for target in JobState:
            with pytest.raises(IllegalTransition):
                transition(terminal, target)
    with pytest.raises(IllegalTransition):
        transition(JobState.QUEUED, JobState.DONE)


def test_job_states_read_as_leonardo_statuses() -> None:
    assert JobState.QUEUED.generation_status is GenerationStatus.PENDING
    assert JobState.RUNNING.generation_status is GenerationStatus.PENDING
    assert JobState.DONE.generation_status is GenerationStatus.COMPLETE
    assert JobState.FAILED.generation_status is GenerationStatus.FAILED


def test_price_model_is_integral_and_grows_with_work() -> None:
    prices = PriceModel(image_base=1.5, per_megapixel=1.5, alchemy_multiplier=2.5)
    small = prices.credits(width=512, height=512, num_images=4, alchemy=False)
    assert isinstance(small, int) and small == 8
    assert prices.credits(width=1024, height=1024, num_images=4, alchemy=False) > small
    assert prices.credits(width=512, height=512, num_images=4, alchemy=True) > small
    assert prices.credits(width=512, height=512, num_images=1, alchemy=False) < small


def test_every_leonardo_preset_has_a_template() -> None:
    # Every v1 style has a template; v2's own styles are shown as a v1 one (the SDKs' enum).
    assert {name for name, t in PRESET_TEMPLATES.items() if t.shown_as is None} == set(PresetStyle.__args__)
    assert {t.shown_as for t in PRESET_TEMPLATES.values() if t.shown_as} <= set(PresetStyle.__args__)
    assert set(STYLE_UUID_PRESETS.values()) <= set(PRESET_TEMPLATES)
    assert apply_preset("NONE", "a cat", "") == ("a cat", "")
    prompt, negative = apply_preset("ANIME", "a cat", "blur")
    assert "a cat" in prompt and negative.startswith("blur, ")
