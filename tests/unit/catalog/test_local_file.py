"""The data dir's local catalog: merged on load, edited by `models add|remove` with tomlkit."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from sfumato.catalog import (
    LEONARDO_DEFAULT_MODEL_ID,
    TINY_MODEL_ID,
    BackgroundRemoverEntry,
    CatalogEditError,
    CatalogEntry,
    ModelCatalog,
    UpscalerEntry,
    add_local_entry,
    local_catalog_path,
    remove_local_entry,
)

ROW = {
    "id": "0c7a5b0e-6a43-4f51-9d5e-0d6f8e2b1a11",
    "name": 'Mine "quoted" \\ model',
    "family": "sd15",
    "sd_version": "v1_5",
    "native_width": 512,
    "native_height": 512,
    "default_steps": 30,
    "default_guidance": 7.0,
    "path": "/srv/models/mine",
    "created_at": "2025-01-02T03:04:05.000Z",
}
ENTRY = CatalogEntry.from_row(ROW)
HAND_ID = "11111111-1111-4111-8111-111111111111"
SECOND_ID = "22222222-2222-4222-8222-222222222222"
HAND_WRITTEN = f"""# My own notes: keep these.

# The finetune on the GPU box.
[[model]]
id = "{HAND_ID}"  # pinned for our clients
name = "Hand"
family = "sd15"
sd_version = "v1_5"
native_width = 64
native_height = 64
default_steps = 10
default_guidance = 7.0
path = "/srv/hand"
"""


def _entry(**changes: str) -> CatalogEntry:
    return CatalogEntry.from_row({**ROW, **changes})


def _load(local: Path) -> ModelCatalog:
    return ModelCatalog.load(None, local_file=local)


def test_added_rows_round_trip_and_merge_after_operator_file(tmp_path: Path) -> None:
    local = local_catalog_path(tmp_path)
    assert _load(local).get(str(ENTRY.id)) is None  # missing file: empty
    add_local_entry(local, ENTRY, _load(local))
    operator = tmp_path / "operator.toml"
    operator.write_text(
        f'[[model]]\nid = "{ENTRY.id}"\nname = "operator"\nfamily = "sd15"\nsd_version = "v1_5"\n'
        'native_width = 1\nnative_height = 1\ndefault_steps = 1\ndefault_guidance = 1.0\npath = "x"\n'
    )
    catalog = ModelCatalog.load(operator, local_file=local)
    assert catalog.get(str(ENTRY.id)) == ENTRY
    assert catalog.get(TINY_MODEL_ID) is not None


def test_add_refuses_taken_and_malformed_ids(tmp_path: Path) -> None:
    local = local_catalog_path(tmp_path)
    catalog = _load(local)
    with pytest.raises(CatalogEditError, match="already in the catalog"):
        add_local_entry(local, _entry(id=TINY_MODEL_ID), catalog)
    with pytest.raises(CatalogEditError, match="not a UUID"):
        add_local_entry(local, _entry(id="not-a-uuid"), catalog)
    assert not local.exists()


def test_remove_takes_out_added_rows_and_refuses_shipped_ones(tmp_path: Path) -> None:
    local = local_catalog_path(tmp_path)
    other = _entry(id=str(uuid.uuid4()), name="other")
    add_local_entry(local, ENTRY, _load(local))
    add_local_entry(local, other, _load(local))
    removed = remove_local_entry(local, str(ENTRY.id), _load(local))
    assert removed.name == ENTRY.name
    catalog = _load(local)
    assert catalog.get(str(ENTRY.id)) is None and catalog.get(str(other.id)) == other
    with pytest.raises(CatalogEditError, match="shipped catalog model"):
        remove_local_entry(local, LEONARDO_DEFAULT_MODEL_ID, catalog)
    with pytest.raises(CatalogEditError, match="unknown model id"):
        remove_local_entry(local, str(uuid.uuid4()), catalog)


def test_add_keeps_hand_written_rows_and_comments(tmp_path: Path) -> None:
    local = local_catalog_path(tmp_path)
    local.write_text(HAND_WRITTEN, encoding="utf-8")
    add_local_entry(local, ENTRY, _load(local))
    assert local.read_text(encoding="utf-8").startswith(HAND_WRITTEN)  # byte for byte; the new row follows
    catalog = _load(local)
    assert catalog.get(str(ENTRY.id)) == ENTRY and catalog.get(HAND_ID) is not None


def test_remove_keeps_the_comment_written_above_the_next_row(tmp_path: Path) -> None:
    """tomlkit files the comment block above a row with the row before it; a remove moves it on."""
    local = local_catalog_path(tmp_path)
    local.write_text(HAND_WRITTEN, encoding="utf-8")
    add_local_entry(local, ENTRY, _load(local))
    second = HAND_WRITTEN.split("[[model]]")[1].replace(HAND_ID, SECOND_ID)
    local.write_text(local.read_text(encoding="utf-8") + f"\n# The second one.\n[[model]]{second}", encoding="utf-8")

    remove_local_entry(local, str(ENTRY.id), _load(local))  # a row with one before it
    assert "# The second one.\n[[model]]" in local.read_text(encoding="utf-8")
    remove_local_entry(local, HAND_ID, _load(local))  # the first row
    text = local.read_text(encoding="utf-8")
    assert text.startswith("# My own notes: keep these.\n") and "# The second one.\n[[model]]" in text
    assert "# pinned for our clients" in text  # the second row's inline comment
    assert set(_load(local).models) - set(ModelCatalog.load().models) == {SECOND_ID}


# --- auxiliary rows: `[[upscaler]]` and `[[background_remover]]` tables in the same file ---------------

UPSCALER = UpscalerEntry.from_row({"id": "my-x4", "name": "My x4", "path": "/srv/x4.pth", "scale": 4})
SEGMENTER = BackgroundRemoverEntry.from_row(
    {"id": "my-seg", "name": "My seg", "path": "/srv/seg.onnx", "input_size": 320, "mean": [0.4, 0.5, 0.6]}
)


def test_aux_rows_round_trip_in_their_own_tables(tmp_path: Path) -> None:
    local = local_catalog_path(tmp_path)
    for entry in (UPSCALER, SEGMENTER, ENTRY):
        add_local_entry(local, entry, _load(local))
    catalog = _load(local)
    assert catalog.upscalers["my-x4"] == UPSCALER and catalog.background_removers["my-seg"] == SEGMENTER
    assert catalog.get(str(ENTRY.id)) == ENTRY
    text = local.read_text(encoding="utf-8")
    assert "\n\n[[upscaler]]\n" in text and "\n\n[[background_remover]]\n" in text
    assert "std" not in text and "mean = [0.4, 0.5, 0.6]" in text  # keys at their default are left out


def test_add_refuses_aux_ids_taken_by_any_kind_or_not_one_word(tmp_path: Path) -> None:
    local = local_catalog_path(tmp_path)
    add_local_entry(local, UPSCALER, _load(local))
    catalog = _load(local)
    for taken in ("my-x4", "sfumato-tiny-segmenter", "v1_5", TINY_MODEL_ID):  # aux of each kind, sd_version, model
        with pytest.raises(CatalogEditError, match="already in the catalog"):
            add_local_entry(local, replace(SEGMENTER, face=replace(SEGMENTER.face, id=taken)), catalog)
    with pytest.raises(CatalogEditError, match="letters, digits"):
        add_local_entry(local, replace(UPSCALER, face=replace(UPSCALER.face, id="two words")), catalog)
    assert set(_load(local).background_removers) == set(ModelCatalog.load().background_removers)


def test_remove_takes_out_aux_rows_and_refuses_shipped_and_operator_ones(tmp_path: Path) -> None:
    local = local_catalog_path(tmp_path)
    add_local_entry(local, UPSCALER, _load(local))
    add_local_entry(local, SEGMENTER, _load(local))
    assert remove_local_entry(local, "my-x4", _load(local)) == UPSCALER
    catalog = _load(local)
    assert "my-x4" not in catalog.upscalers and catalog.background_removers["my-seg"] == SEGMENTER
    with pytest.raises(CatalogEditError, match="shipped catalog model"):
        remove_local_entry(local, "sfumato-tiny-upscaler", catalog)
    operator = tmp_path / "operator.toml"
    operator.write_text('[[upscaler]]\nid = "theirs"\nname = "Theirs"\npath = "/srv/t.pth"\nscale = 2\n')
    with pytest.raises(CatalogEditError, match=f"comes from {operator}"):
        remove_local_entry(local, "theirs", ModelCatalog.load(operator, local_file=local))
    assert remove_local_entry(local, "my-seg", _load(local)) == SEGMENTER
    assert "[[" not in local.read_text(encoding="utf-8")  # no empty `upscaler = []` left behind


def test_a_comment_above_the_next_table_stays_above_it(tmp_path: Path) -> None:
    """tomlkit files the comment above `[[upscaler]]` with the last model row: a model row added
    after it, or that row removed, leaves the comment where the operator wrote it."""
    local = local_catalog_path(tmp_path)
    upscaler = '# The ESRGAN on the share.\n[[upscaler]]\nid = "hand-x2"\nname = "H"\npath = "/h.pth"\nscale = 2\n'
    local.write_text(f"{HAND_WRITTEN}\n{upscaler}", encoding="utf-8")
    add_local_entry(local, ENTRY, _load(local))
    text = local.read_text(encoding="utf-8")
    assert text.startswith(HAND_WRITTEN) and text.endswith(f"\n\n{upscaler}")
    assert text.index(str(ENTRY.id)) < text.index("# The ESRGAN")
    remove_local_entry(local, str(ENTRY.id), _load(local))
    remove_local_entry(local, HAND_ID, _load(local))
    text = local.read_text(encoding="utf-8")
    assert text.startswith("# My own notes: keep these.\n") and text.endswith(f"\n{upscaler}")
    assert "[[model]]" not in text and _load(local).upscalers["hand-x2"].scale == 2
