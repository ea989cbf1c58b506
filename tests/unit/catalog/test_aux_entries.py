"""Auxiliary model rows: `[[upscaler]]` and `[[background_remover]]` tables, their checks, and
which row of a kind serves (the first installed real one, else the built-in one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfumato.catalog import (
    AuxWeights,
    BackgroundRemoverEntry,
    CatalogFormatError,
    ModelCatalog,
    UpscalerEntry,
    in_use,
)

SHIPPED = ModelCatalog.load()


def load(tmp_path: Path, text: str) -> ModelCatalog:
    operator = tmp_path / "operator.toml"
    operator.write_text(text)
    return ModelCatalog.load(operator)


def test_the_shipped_catalog_lists_the_built_in_tiny_models_and_real_ones_to_pull() -> None:
    tiny_upscaler = SHIPPED.upscalers["sfumato-tiny-upscaler"]
    tiny_segmenter = SHIPPED.background_removers["sfumato-tiny-segmenter"]
    assert (tiny_upscaler.weights.builtin, tiny_segmenter.weights.builtin) == ("tiny-upscaler", "tiny-segmenter")
    for tiny in (tiny_upscaler, tiny_segmenter):
        assert "random weights, for testing the flow" in tiny.face.description
    real = [e for e in (*SHIPPED.upscalers.values(), *SHIPPED.background_removers.values()) if not e.weights.builtin]
    assert real and all(e.weights.repo and e.weights.file for e in real)
    assert SHIPPED.auxiliary("real-esrgan-x4") is SHIPPED.upscalers["real-esrgan-x4"]
    assert SHIPPED.auxiliary(tiny_segmenter.id) is tiny_segmenter and SHIPPED.auxiliary("nope") is None


def test_an_operator_file_adds_rows_of_both_kinds_after_the_shipped_ones(tmp_path: Path) -> None:
    catalog = load(
        tmp_path,
        '[[upscaler]]\nid = "mine-x2"\nname = "Mine"\npath = "up/mine.safetensors"\nscale = 2\n\n'
        '[[background_remover]]\nid = "u2net"\nname = "U2-Net"\npath = "/m/u2net.onnx"\ninput_size = 320\n'
        "mean = [0.485, 0.456, 0.406]\nstd = [0.229, 0.224, 0.225]\n",
    )
    mine = catalog.upscalers["mine-x2"]
    assert mine == UpscalerEntry.from_row({"id": "mine-x2", "name": "Mine", "path": "up/mine.safetensors", "scale": 2})
    assert (
        list(catalog.upscalers)[-1] == "mine-x2" and mine.weights.location(tmp_path) == tmp_path / "up/mine.safetensors"
    )
    u2net = catalog.background_removers["u2net"]
    assert (u2net.input_size, u2net.mean, u2net.sigmoid) == (320, (0.485, 0.456, 0.406), False)
    assert u2net.weights.location(tmp_path) == Path("/m/u2net.onnx")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('id = "u"\nname = "U"\npath = "u.pth"\nscale = 4\nscael = 2\n', r"\[\[upscaler\]\] #1: unknown key 'scael'"),
        ('id = "u"\nname = "U"\npath = "u.pth"\n', "missing key 'scale'"),
        ('id = "u"\nname = "U"\npath = "u.pth"\nscale = 3\n', "'scale' must be 1, 2, 4 or 8"),
        ('id = "u"\nname = "U"\npath = "u.pth"\nbuiltin = "tiny-upscaler"\nscale = 4\n', "exactly one of"),
        ('id = "u"\nname = "U"\nrepo = "org/esrgan"\nscale = 4\n', "'repo' and 'file' go together"),
        ('name = "U"\npath = "u.pth"\nscale = 4\n', "missing key 'id'"),
    ],
)
def test_bad_upscaler_rows_are_refused_naming_the_row(tmp_path: Path, row: str, message: str) -> None:
    with pytest.raises(CatalogFormatError, match=message):
        load(tmp_path, f"[[upscaler]]\n{row}")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("mean = [0.5, 0.5]\n", "'mean' must be three numbers"),
        ("input_size = 2\n", "'input_size' must be"),
        ('sigmoid = "yes"\n', "'sigmoid' must be true or false"),
        ('family = "sd15"\n', "unknown key 'family'"),
    ],
)
def test_bad_background_remover_rows_are_refused(tmp_path: Path, fields: str, message: str) -> None:
    with pytest.raises(CatalogFormatError, match=message):
        load(tmp_path, f'[[background_remover]]\nid = "b"\nname = "B"\npath = "b.onnx"\n{fields}')


def test_weights_locations_and_sources() -> None:
    models = Path("/models")
    pulled = AuxWeights(repo="org/esrgan", file="weights/x4.pth")
    assert pulled.location(models) == models / "org--esrgan" / "weights/x4.pth"
    assert pulled.source == "org/esrgan (weights/x4.pth)"
    built = AuxWeights(builtin="tiny-upscaler")
    assert built.location(models) == models / "sfumato-tiny-upscaler" and "built-in" in built.source


def test_the_first_installed_real_row_serves_else_the_built_in_one(tmp_path: Path) -> None:
    catalog = load(
        tmp_path,
        '[[upscaler]]\nid = "a"\nname = "A"\npath = "a.pth"\nscale = 4\n\n'
        '[[upscaler]]\nid = "b"\nname = "B"\npath = "b.pth"\nscale = 2\n',
    )
    rows = list(catalog.upscalers.values())
    assert in_use(rows, tmp_path) is catalog.upscalers["sfumato-tiny-upscaler"]  # nothing real is installed
    (tmp_path / "b.pth").write_bytes(b"")
    assert in_use(rows, tmp_path) is catalog.upscalers["b"]
    (tmp_path / "a.pth").write_bytes(b"")
    assert in_use(rows, tmp_path) is catalog.upscalers["a"]
    only_real: list[BackgroundRemoverEntry] = [
        BackgroundRemoverEntry.from_row({"id": "x", "name": "X", "path": "x.onnx"})
    ]
    assert in_use(only_real, tmp_path) is None
