"""Loading the catalog: shipped rows, then the operator file, then the data dir's local file."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfumato.catalog import LEONARDO_DEFAULT_MODEL_ID, TINY_MODEL_ID, CatalogFormatError, ModelCatalog

MINE = "0d9b3a52-4c1f-4b8e-9a3f-2e1d0c9b8a7f"
ROW = (
    f'[[model]]\nid = "{MINE}"\nname = "My SD"\nfamily = "sd15"\npath = "/m/sd"\nsd_version = "v1_5"\n'
    "native_width = 512\nnative_height = 512\ndefault_steps = 30\ndefault_guidance = 7.0\n"
)


def test_one_argument_load_still_works() -> None:
    catalog = ModelCatalog.load(None)
    assert catalog.get(TINY_MODEL_ID) is not None and catalog.is_shipped(LEONARDO_DEFAULT_MODEL_ID)


def test_a_kind_of_row_this_version_does_not_know_is_skipped_and_the_rest_loads(tmp_path: Path) -> None:
    """Room for later kinds of rows: a file written for a later version still serves its models."""
    operator = tmp_path / "operator.toml"
    operator.write_text(f'[[video_model]]\nid = "c"\nrepo = "org/video"\n\n{ROW}')
    catalog = ModelCatalog.load(operator)
    assert catalog.get(MINE) is not None and catalog.origins[MINE] == operator


def test_a_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    operator = tmp_path / "operator.toml"
    operator.write_text("[[model]\n")
    with pytest.raises(CatalogFormatError, match=r"operator\.toml: "):
        ModelCatalog.load(operator)


def test_model_rows_must_be_an_array_of_tables(tmp_path: Path) -> None:
    operator = tmp_path / "operator.toml"
    operator.write_text('[model]\nid = "x"\n')
    with pytest.raises(CatalogFormatError, match=r"operator\.toml: `model` must be \[\[model\]\] tables"):
        ModelCatalog.load(operator)
