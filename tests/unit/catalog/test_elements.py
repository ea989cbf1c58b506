"""`[[element]]` rows: the shipped built-in element, what a row may hold, and who sees a user element."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sfumato.catalog import CatalogFormatError, ElementEntry, ModelCatalog, add_local_entry, remove_local_entry

BUILTIN = "33c0cdca-793a-4abb-8634-f9f8a68b47bf"
ALICE, BOB = "11111111-2222-4333-8444-555555555555", "66666666-7777-4888-9999-000000000000"
ROW: dict[str, Any] = {"id": "0b7d7a52-5f0e-4c4e-9d55-3f1f6c1b2a01", "name": "Mine", "path": "mine.safetensors"}


def test_the_shipped_catalog_lists_the_built_in_tiny_element_for_sd15() -> None:
    catalog = ModelCatalog.load()
    entry = catalog.element(BUILTIN.upper())
    assert entry is not None and entry in catalog.public_elements()
    assert (entry.base_model, entry.applies_to, entry.weights.builtin) == ("v1_5", "sd15", "tiny-lora")
    assert entry.weight_min <= 0 <= entry.weight_default <= entry.weight_max


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"base_model": "KINO_2_0"}, "'base_model' must be one of"),
        ({"base_model": "v1_5", "weight_default": 1.5}, "whole number"),
        ({"base_model": "v1_5", "weight_default": 3}, "weight_min <= weight_default <= weight_max"),
        ({"base_model": "v1_5", "user_id": ALICE}, "go together"),
        ({"base_model": "v1_5", "id": "not-a-uuid"}, "not a UUID"),
        ({}, "missing key 'base_model'"),
    ],
)
def test_bad_rows_are_refused_naming_the_problem(extra: dict[str, Any], words: str) -> None:
    with pytest.raises(CatalogFormatError, match=words):
        ElementEntry.from_row({**ROW, **extra})


def test_family_follows_the_base_model_unless_given() -> None:
    assert ElementEntry.from_row({**ROW, "base_model": "SDXL_LIGHTNING"}).applies_to == "sdxl"
    explicit = ElementEntry.from_row({**ROW, "base_model": "FLUX_DEV", "family": "flux-kontext"})
    assert explicit.applies_to == "flux-kontext"


def test_a_user_element_is_its_owners_alone_and_numbers_are_not_reused(tmp_path: Path) -> None:
    local = tmp_path / "catalog.local.toml"
    catalog = ModelCatalog.load()
    mine = ElementEntry.from_row({**ROW, "base_model": "v1_5", "user_id": ALICE, "user_lora_id": 1})
    add_local_entry(local, mine, catalog)
    catalog = ModelCatalog.load(local_file=local)
    assert catalog.user_element(1, ALICE) == mine and catalog.user_element(1, BOB) is None
    assert catalog.element(mine.id) is None and mine not in catalog.public_elements()
    assert catalog.user_elements(ALICE) == [mine] and catalog.user_elements(BOB) == []
    assert catalog.next_user_lora_id() == 2
    assert remove_local_entry(local, mine.id, catalog) == mine
    assert ModelCatalog.load(local_file=local).user_elements(ALICE) == []
