"""`sfumato serve` says in one line how to install the catalog's CPU-friendly real model."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sfumato.catalog import CPU_FRIENDLY_SLUG, ModelCatalog
from sfumato.catalog.entries import DIFFUSERS_MARKER
from sfumato.cli.serve import _say_how_to_get_real_pictures


def test_the_startup_log_names_the_pull_command_until_the_model_is_installed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    catalog = ModelCatalog.load()
    entry = catalog.for_slug(CPU_FRIENDLY_SLUG)
    assert entry is not None and entry.weights.repo == "stabilityai/sd-turbo"
    assert (entry.face.native_width, entry.quality.default_steps, entry.quality.default_guidance) == (512, 2, 0.0)
    with caplog.at_level(logging.INFO, logger="sfumato.serve"):
        _say_how_to_get_real_pictures(catalog, tmp_path)
    [line] = caplog.messages
    assert f"`sfumato models pull {CPU_FRIENDLY_SLUG}`" in line and str(entry.id) in line

    folder = entry.weights.weights_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / DIFFUSERS_MARKER).write_text("{}", encoding="utf-8")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sfumato.serve"):
        _say_how_to_get_real_pictures(catalog, tmp_path)
    [line] = caplog.messages
    assert "is installed" in line and "models pull" not in line
