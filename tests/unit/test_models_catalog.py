"""The data dir's local catalog: merged on load, edited by `models add|remove`."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from sfumato.catalog import (
    LEONARDO_DEFAULT_MODEL_ID,
    TINY_MODEL_ID,
    CatalogEditError,
    CatalogEntry,
    ModelCatalog,
    add_local_entry,
    local_catalog_path,
    remove_local_entry,
)

ENTRY = CatalogEntry(
    id="0c7a5b0e-6a43-4f51-9d5e-0d6f8e2b1a11",
    name='Mine "quoted" \\ model',
    family="sd15",
    sd_version="v1_5",
    native_width=512,
    native_height=512,
    default_steps=30,
    default_guidance=7.0,
    path="/srv/models/mine",
    created_at="2025-01-02T03:04:05.000Z",
)


def test_one_argument_load_still_works() -> None:
    catalog = ModelCatalog.load(None)
    assert catalog.get(TINY_MODEL_ID) is not None and catalog.is_shipped(LEONARDO_DEFAULT_MODEL_ID)


def test_added_rows_round_trip_and_merge_after_operator_file(tmp_path: Path) -> None:
    local = local_catalog_path(tmp_path)
    assert ModelCatalog.load(None, local_file=local).get(str(ENTRY.id)) is None  # missing file: empty
    add_local_entry(local, ENTRY, ModelCatalog.load(None, local_file=local))
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
    catalog = ModelCatalog.load(None, local_file=local)
    with pytest.raises(CatalogEditError, match="already in the catalog"):
        add_local_entry(local, replace(ENTRY, id=TINY_MODEL_ID), catalog)
    with pytest.raises(CatalogEditError, match="not a UUID"):
        add_local_entry(local, replace(ENTRY, id="not-a-uuid"), catalog)
    assert not local.exists()


def test_remove_takes_out_added_rows_and_refuses_shipped_ones(tmp_path: Path) -> None:
    local = local_catalog_path(tmp_path)
    other = replace(ENTRY, id=str(uuid.uuid4()), name="other")
    add_local_entry(local, ENTRY, ModelCatalog.load(None, local_file=local))
    add_local_entry(local, other, ModelCatalog.load(None, local_file=local))
    removed = remove_local_entry(local, str(ENTRY.id), ModelCatalog.load(None, local_file=local))
    assert removed.name == ENTRY.name
    catalog = ModelCatalog.load(None, local_file=local)
    assert catalog.get(str(ENTRY.id)) is None and catalog.get(str(other.id)) == other
    with pytest.raises(CatalogEditError, match="shipped catalog model"):
        remove_local_entry(local, LEONARDO_DEFAULT_MODEL_ID, catalog)
    with pytest.raises(CatalogEditError, match="unknown model id"):
        remove_local_entry(local, str(uuid.uuid4()), catalog)


def test_single_file_rows_are_installed_iff_the_file_exists(tmp_path: Path) -> None:
    entry = replace(ENTRY, path=None, file="ckpt/model.safetensors", config=str(tmp_path / "cfg"))
    assert entry.weights_dir(tmp_path) == tmp_path / "ckpt" / "model.safetensors"
    assert not entry.is_installed(tmp_path)
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "model.safetensors").write_bytes(b"x")
    assert not entry.is_installed(tmp_path)  # its config folder is missing too
    (tmp_path / "cfg").mkdir()
    assert entry.is_installed(tmp_path) and entry.source == "ckpt/model.safetensors"


# --- which repo files a pull fetches -------------------------------------------------------------

SDXL_LIKE_REPO = [
    "model_index.json",
    "README.md",
    "scheduler/scheduler_config.json",
    "tokenizer/vocab.json",
    "tokenizer/merges.txt",
    "text_encoder/config.json",
    "text_encoder/model.safetensors",
    "text_encoder/model.fp16.safetensors",
    "text_encoder/model.bin",
    "unet/config.json",
    "unet/diffusion_pytorch_model.safetensors",
    "unet/diffusion_pytorch_model.fp16.safetensors",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",  # no fp16 copy: the plain file serves a variant load too
    "vae_1_0/diffusion_pytorch_model.fp16.safetensors",
    "sd_xl_base_1.0.safetensors",  # the single-file copy at the root
    "unet/diffusion_flax_model.msgpack",
    "text_encoder/model.onnx",
]


def test_pull_fetches_each_weight_once_in_plain_form_by_default() -> None:
    from sfumato.engine.weights.hub import pipeline_files

    chosen = pipeline_files(SDXL_LIKE_REPO)
    assert "model_index.json" not in chosen  # the marker is fetched last, on its own
    assert {"unet/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors"} <= set(chosen)
    assert not [name for name in chosen if ".fp16." in name or name.endswith((".bin", ".msgpack", ".onnx"))]
    assert "vae_1_0/diffusion_pytorch_model.fp16.safetensors" not in chosen  # only a variant there
    assert {"tokenizer/vocab.json", "tokenizer/merges.txt", "unet/config.json"} <= set(chosen)


def test_pull_of_a_variant_takes_its_files_and_plain_ones_where_it_has_none() -> None:
    from sfumato.engine.weights.hub import pipeline_files

    chosen = set(pipeline_files(SDXL_LIKE_REPO, variant="fp16"))
    assert {"unet/diffusion_pytorch_model.fp16.safetensors", "text_encoder/model.fp16.safetensors"} <= chosen
    assert "unet/diffusion_pytorch_model.safetensors" not in chosen
    assert "vae/diffusion_pytorch_model.safetensors" in chosen
    assert "vae_1_0/diffusion_pytorch_model.fp16.safetensors" in chosen


def test_catalog_rows_may_pin_a_revision_and_a_variant(tmp_path: Path) -> None:
    operator = tmp_path / "catalog.toml"
    operator.write_text(
        '[[model]]\nid = "0f0a0000-0000-4000-8000-0000000000f1"\nname = "Pinned"\nfamily = "sdxl"\n'
        'repo = "org/model"\nrevision = "0123abcd"\nvariant = "fp16"\nsd_version = "SDXL_1_0"\n'
        "native_width = 1024\nnative_height = 1024\ndefault_steps = 30\ndefault_guidance = 7.0\n"
    )
    entry = ModelCatalog.load(operator).get("0f0a0000-0000-4000-8000-0000000000f1")
    assert entry is not None and (entry.revision, entry.variant) == ("0123abcd", "fp16")


def test_docs_catalog_table_matches_the_shipped_catalog() -> None:
    """docs/models.md shows `sfumato models list --markdown`; editing catalog.toml without it fails here."""
    from sfumato.catalog import markdown_table, shipped_entries

    page = (Path(__file__).parents[2] / "docs" / "models.md").read_text(encoding="utf-8")
    table = markdown_table(shipped_entries())
    assert table.count("\n") == len(shipped_entries()) + 2
    assert table in page, "docs/models.md's table is stale: paste `sfumato models list --markdown` over it"
