"""Keys, the job state machine, prices, presets and the catalog."""

from __future__ import annotations

import pytest

from sfumato.catalog import LEONARDO_DEFAULT_MODEL_ID, TINY_MODEL_ID, ModelCatalog
from sfumato.domain.keys import hash_key, key_matches, new_key
from sfumato.domain.presets import PRESET_TEMPLATES, STYLE_UUID_PRESETS, apply_preset
from sfumato.domain.pricing import PriceModel
from sfumato.domain.status import GenerationStatus, IllegalTransition, JobState, transition
from sfumato.wire.enums import PresetStyle, SdVersion


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
    assert set(PRESET_TEMPLATES) == set(PresetStyle.__args__)
    assert set(STYLE_UUID_PRESETS.values()) <= set(PRESET_TEMPLATES)
    assert apply_preset("NONE", "a cat", "") == ("a cat", "")
    prompt, negative = apply_preset("ANIME", "a cat", "blur")
    assert "a cat" in prompt and negative.startswith("blur, ")


def test_catalog_resolves_ids_and_fallbacks() -> None:
    catalog = ModelCatalog.load()
    assert catalog.resolve(None, None).id == LEONARDO_DEFAULT_MODEL_ID  # type: ignore[union-attr]
    assert catalog.resolve(TINY_MODEL_ID, "v2").id == TINY_MODEL_ID  # type: ignore[union-attr]
    fallback = catalog.resolve(None, "FLUX")
    assert fallback is not None and fallback.id is None and fallback.family == "flux"
    assert catalog.resolve_key(catalog.key_of(fallback)) == fallback
    assert catalog.resolve("nope", None) is None
    # Only enum values the SDKs know are emitted; KINO_2_0 is missing from Python SDK 6.x.
    emitted = {e.face.sd_version for e in [*catalog.models.values(), *catalog.fallbacks.values()]}
    assert emitted <= set(SdVersion.__args__) - {"KINO_2_0"}


def test_operator_catalog_overrides_and_extends(tmp_path) -> None:  # type: ignore[no-untyped-def]
    extra = tmp_path / "mine.toml"
    extra.write_text(
        f'[[model]]\nid = "{TINY_MODEL_ID}"\nname = "Renamed Tiny"\nfamily = "sd15"\nbuiltin = "tiny"\n'
        'sd_version = "v1_5"\nnative_width = 64\nnative_height = 64\ndefault_steps = 12\ndefault_guidance = 5.0\n'
        '[[model]]\nid = "0d9b3a52-4c1f-4b8e-9a3f-2e1d0c9b8a7f"\nname = "My SD"\nfamily = "sd15"\npath = "/m/sd"\n'
        'sd_version = "v1_5"\nnative_width = 512\nnative_height = 512\ndefault_steps = 30\ndefault_guidance = 7.0\n'
    )
    catalog = ModelCatalog.load(extra)
    assert catalog.get(TINY_MODEL_ID).name == "Renamed Tiny"  # type: ignore[union-attr]
    mine = catalog.get("0d9b3a52-4c1f-4b8e-9a3f-2e1d0c9b8a7f")
    assert mine is not None and str(mine.weights.weights_dir(tmp_path)) == "/m/sd"
