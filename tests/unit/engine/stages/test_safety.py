"""`Engine.nsfw`: the catalog's `[[safety_checker]]` flags a picture (never changing it), and
without an installed or listed built-in row nothing is flagged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sfumato.catalog import CatalogFormatError, ModelCatalog, SafetyCheckerEntry
from sfumato.config import EngineSettings
from sfumato.engine import Engine
from sfumato.engine.errors import EngineConfigError

SETTINGS = EngineSettings(device="cpu", torch_threads=1)


def _catalog(tmp_path: Path, **row: object) -> ModelCatalog:
    fields = {"id": "tiny-nsfw", "name": "Tiny NSFW", "builtin": "tiny-nsfw", **row}
    lines = "\n".join(f"{key} = {value!r}".replace("'", '"') for key, value in fields.items())
    operator = tmp_path / "catalog.toml"
    operator.write_text(f"[[safety_checker]]\n{lines}\n", encoding="utf-8")
    return ModelCatalog.load(operator)


def _picture() -> Image.Image:
    pixels = (np.arange(40 * 48 * 3) % 251).reshape(40, 48, 3).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def test_the_shipped_catalog_flags_nothing_on_a_fresh_install(tmp_path: Path) -> None:
    engine = Engine(SETTINGS, tmp_path / "models")
    assert engine.nsfw(_picture()) is False
    assert not (tmp_path / "models").exists()  # nothing built, nothing loaded


@pytest.mark.parametrize(("threshold", "flagged"), [(0.0, True), (1.0, False)])
def test_a_listed_built_in_classifier_flags_by_its_threshold(tmp_path: Path, threshold: float, flagged: bool) -> None:
    engine = Engine(SETTINGS, tmp_path / "models", catalog=_catalog(tmp_path, threshold=threshold))
    image = _picture()
    before = image.tobytes()
    assert engine.nsfw(image) is flagged
    assert image.tobytes() == before  # flagged, never blacked out


def test_the_score_is_the_nsfw_label_probability(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    Engine(SETTINGS, tmp_path / "models", catalog=catalog).nsfw(_picture())  # builds the tiny folder
    from sfumato.engine.stages.safety import load_safety_checker

    checker = load_safety_checker(catalog.safety_checkers["tiny-nsfw"], tmp_path / "models", "cpu")
    score = checker.score(_picture())
    assert 0.0 < score < 1.0 and checker.score(_picture()) == score  # fixed weights: the same score


def test_a_label_the_classifier_lacks_is_a_config_error(tmp_path: Path) -> None:
    engine = Engine(SETTINGS, tmp_path / "models", catalog=_catalog(tmp_path, label="explicit"))
    with pytest.raises(EngineConfigError, match="no label 'explicit'"):
        engine.nsfw(_picture())


def test_rows_refuse_a_threshold_outside_0_to_1() -> None:
    row = {"id": "x", "name": "x", "path": "x/model.safetensors"}
    assert SafetyCheckerEntry.from_row({**row, "threshold": 1}).threshold == 1.0
    for bad in (1.5, -0.1, True, "high"):
        with pytest.raises(CatalogFormatError, match="threshold"):
            SafetyCheckerEntry.from_row({**row, "threshold": bad})
