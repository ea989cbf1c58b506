"""Fixtures the engine's tests share: every family's tiny model, built once per test session."""

from __future__ import annotations

import pytest

from sfumato.engine.families import FAMILIES
from sfumato.engine.weights.loaders import ModelSource
from tests.support.tiny_families import ensure_tiny_family_model, ensure_tiny_lightning_unet


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModelSource]:
    """Each family's tiny model; SDXL-Lightning is the tiny SDXL folder with the tiny Lightning UNet file."""
    root = tmp_path_factory.mktemp("family-models")
    sources = {}
    for name in sorted(FAMILIES):
        if name == "sdxl-lightning":
            base = ensure_tiny_family_model("sdxl", root / "sdxl")
            unet = ensure_tiny_lightning_unet(root / "lightning" / "unet.safetensors")
            sources[name] = ModelSource.from_folder(base, name, unet_file=unet)
        else:
            sources[name] = ModelSource.from_folder(ensure_tiny_family_model(name, root / name), name)
    return sources
