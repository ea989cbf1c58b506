"""Catalog entries: a flat TOML row sorted into the Leonardo face, quality defaults and weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomlkit

from sfumato.catalog import CatalogEntry, CatalogFormatError, LeonardoFace, ModelCatalog, QualityDefaults, WeightsSpec

ROW = {
    "id": "0c7a5b0e-6a43-4f51-9d5e-0d6f8e2b1a11",
    "name": "Mine",
    "description": "a row",
    "family": "sdxl-lightning",
    "repo": "org/base",
    "unet_repo": "org/unets",
    "unet_file": "unet_8step.safetensors",
    "sd_version": "SDXL_LIGHTNING",
    "native_width": 1024,
    "native_height": 768,
    "default_steps": 8,
    "default_guidance": 1.0,
    "alchemy_steps": 12,
    "featured": True,
}


def _operator_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "operator.toml"
    path.write_text(body)
    return path


def test_a_flat_row_is_sorted_into_face_quality_and_weights() -> None:
    entry = CatalogEntry.from_row(ROW)
    assert entry.face == LeonardoFace(
        id=ROW["id"], name="Mine", description="a row", sd_version="SDXL_LIGHTNING",
        native_width=1024, native_height=768, featured=True,
    )  # fmt: skip
    assert entry.quality == QualityDefaults(default_steps=8, default_guidance=1.0, alchemy_steps=12)
    assert entry.weights == WeightsSpec(repo="org/base", unet_repo="org/unets", unet_file="unet_8step.safetensors")
    assert (entry.family, entry.id, entry.name) == ("sdxl-lightning", ROW["id"], "Mine")
    assert entry.weights.source == "org/unets (unet_8step.safetensors) on org/base"


def test_to_row_gives_back_the_row_without_defaulted_keys() -> None:
    entry = CatalogEntry.from_row(ROW)
    assert entry.to_row() == ROW
    assert CatalogEntry.from_row(entry.to_row()) == entry
    assert "nsfw" not in entry.to_row() and "path" not in entry.to_row()


def test_an_unknown_key_is_refused_naming_the_file_and_the_key(tmp_path: Path) -> None:
    row = {("nmae" if key == "name" else key): value for key, value in ROW.items()}
    operator = _operator_file(tmp_path, tomlkit.dumps({"model": [row]}))
    with pytest.raises(CatalogFormatError, match=r"operator\.toml: \[\[model\]\] #1: unknown key 'nmae'") as refused:
        ModelCatalog.load(operator)
    assert "did you mean 'name'?" in str(refused.value)


def test_a_missing_key_and_a_fallback_with_an_id_are_refused_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogFormatError, match=r"operator\.toml: \[\[model\]\] #1: missing key 'family'"):
        ModelCatalog.load(_operator_file(tmp_path, '[[model]]\nid = "x"\nname = "x"\n'))
    fallback = 'sd_version = "v1_5"\nname = "x"\nfamily = "sd15"\nrepo = "o/r"\nnative_width = 1\nnative_height = 1\n'
    fallback += "default_steps = 1\ndefault_guidance = 1.0\n"
    with pytest.raises(CatalogFormatError, match=r"operator\.toml: \[\[fallback\]\] #1: .* has no 'id'"):
        ModelCatalog.load(_operator_file(tmp_path, f'[[fallback]]\nid = "x"\n{fallback}'))
    assert ModelCatalog.load(_operator_file(tmp_path, f"[[fallback]]\n{fallback}")).fallbacks["v1_5"].id is None


def test_single_file_rows_are_installed_iff_the_file_exists(tmp_path: Path) -> None:
    weights = WeightsSpec(file="ckpt/model.safetensors", config=str(tmp_path / "cfg"))
    assert weights.weights_dir(tmp_path) == tmp_path / "ckpt" / "model.safetensors"
    assert not weights.is_installed(tmp_path)
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "model.safetensors").write_bytes(b"x")
    assert not weights.is_installed(tmp_path)  # its config folder is missing too
    (tmp_path / "cfg").mkdir()
    assert weights.is_installed(tmp_path) and weights.source == "ckpt/model.safetensors"


def test_catalog_rows_may_pin_a_revision_and_a_variant(tmp_path: Path) -> None:
    operator = _operator_file(
        tmp_path,
        '[[model]]\nid = "0f0a0000-0000-4000-8000-0000000000f1"\nname = "Pinned"\nfamily = "sdxl"\n'
        'repo = "org/model"\nrevision = "0123abcd"\nvariant = "fp16"\nsd_version = "SDXL_1_0"\n'
        "native_width = 1024\nnative_height = 1024\ndefault_steps = 30\ndefault_guidance = 7.0\n",
    )
    entry = ModelCatalog.load(operator).get("0f0a0000-0000-4000-8000-0000000000f1")
    assert entry is not None and (entry.weights.revision, entry.weights.variant) == ("0123abcd", "fp16")
