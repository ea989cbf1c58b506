"""Operator catalogs for tests: a model id whose weights genuinely fail to load."""

from __future__ import annotations

from pathlib import Path


def broken_model_catalog(root: Path, model_id: str) -> Path:
    """A catalog TOML pointing `model_id` at a folder whose model_index.json is not a diffusers
    pipeline, so every load of it raises inside the job: a real failure, not a mock."""
    broken = root / "broken-model"
    broken.mkdir(parents=True, exist_ok=True)
    (broken / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", ')
    catalog = root / "catalog.toml"
    catalog.write_text(
        f'[[model]]\nid = "{model_id}"\nname = "Broken"\nfamily = "sd15"\npath = "{broken}"\n'
        'sd_version = "v1_5"\nnative_width = 64\nnative_height = 64\ndefault_steps = 10\ndefault_guidance = 7.0\n'
    )
    return catalog
