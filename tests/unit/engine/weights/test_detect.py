"""Family detection from diffusers folders and single-file checkpoint headers, by the telltales
each family declares (`Family.index_class`, `index_hints`, `key_fragment`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from sfumato.engine.families import FAMILIES, Family
from sfumato.engine.weights.detect import DetectionError, detect


def _folder(root: Path, class_name: str, *, text_hidden: int | None = None, prediction: str | None = None) -> Path:
    root.mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps({"_class_name": class_name}))
    if text_hidden is not None:
        (root / "text_encoder").mkdir()
        (root / "text_encoder" / "config.json").write_text(json.dumps({"hidden_size": text_hidden}))
    if prediction is not None:
        (root / "scheduler").mkdir()
        (root / "scheduler" / "scheduler_config.json").write_text(json.dumps({"prediction_type": prediction}))
    return root


DETECTED_BY_CLASS = [family for family in FAMILIES.values() if family.index_class and not family.index_hints]


@pytest.mark.parametrize("family", DETECTED_BY_CLASS, ids=lambda family: family.name)
def test_a_folder_is_the_family_of_its_pipeline_class(tmp_path: Path, family: Family) -> None:
    assert family.index_class is not None
    detected = detect(_folder(tmp_path / "m", family.index_class))
    assert (detected.family, detected.single_file, detected.defaults) == (family.name, False, family.defaults)


@pytest.mark.parametrize(
    ("extra", "family"),
    [
        ({"text_hidden": 768, "prediction": "epsilon"}, "sd15"),
        ({}, "sd15"),
        ({"text_hidden": 1024, "prediction": "v_prediction"}, "sd2"),
        ({"prediction": "v_prediction"}, "sd2"),
        ({"text_hidden": 1024}, "sd2"),
    ],
)
def test_sd1_and_sd2_folders_are_told_apart_by_text_encoder_and_prediction(
    tmp_path: Path, extra: dict[str, object], family: str
) -> None:
    """Both are `StableDiffusionPipeline`s: SD 2.x has OpenCLIP-H (1024 wide) and usually v-prediction."""
    detected = detect(_folder(tmp_path / "m", "StableDiffusionPipeline", **extra))  # type: ignore[arg-type]
    assert (detected.family, detected.defaults) == (family, FAMILIES[family].defaults)


def test_folder_native_size_from_unet_and_vae(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "m", "StableDiffusionPipeline")
    for name, config in {"unet": {"sample_size": 8}, "vae": {"block_out_channels": [8, 8, 16, 16]}}.items():
        (folder / name).mkdir()
        (folder / name / "config.json").write_text(json.dumps(config))
    defaults = detect(folder).defaults
    assert (defaults.native_width, defaults.native_height, defaults.sd_version) == (64, 64, "v1_5")


def test_unknown_pipeline_and_non_models_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DetectionError, match="not supported"):
        detect(_folder(tmp_path / "a", "KandinskyPipeline"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DetectionError, match=r"model_index\.json"):
        detect(tmp_path / "empty")
    (tmp_path / "model.ckpt").write_bytes(b"pickle")
    with pytest.raises(DetectionError, match="safetensors"):
        detect(tmp_path / "model.ckpt")
    with pytest.raises(DetectionError, match="does not exist"):
        detect(tmp_path / "missing")


@pytest.mark.parametrize(
    ("keys", "family"),
    [
        (["conditioner.embedders.0.transformer.x", "conditioner.embedders.1.model.y"], "sdxl"),
        (["model.diffusion_model.double_blocks.0.img_attn.qkv.weight"], "flux"),
        (["double_blocks.0.img_mod.lin.weight"], "flux"),
        (["model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight"], "sd3"),
        (["cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight"], "sd2"),
        (["cond_stage_model.transformer.text_model.embeddings.position_ids"], "sd15"),
    ],
)
def test_single_file_family(tmp_path: Path, keys: list[str], family: str) -> None:
    path = tmp_path / "model.safetensors"
    save_file({key: torch.zeros(1) for key in [*keys, "model.diffusion_model.out.2.bias"]}, str(path))
    detected = detect(path)
    assert (detected.family, detected.single_file) == (family, True)


def test_single_file_without_telltale_keys_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lora.safetensors"
    save_file({"lora_unet_down.alpha": torch.zeros(1)}, str(path))
    with pytest.raises(DetectionError, match="no known family"):
        detect(path)
    (tmp_path / "broken.safetensors").write_bytes(b"\x00" * 4)
    with pytest.raises(DetectionError, match="not a readable"):
        detect(tmp_path / "broken.safetensors")


def test_a_bare_diffusers_unet_file_is_refused_naming_the_unet_rows(tmp_path: Path) -> None:
    """SDXL-Lightning's UNet files hold only a UNet, in diffusers names: not a model to add alone."""
    from tests.support.tiny_families import ensure_tiny_lightning_unet

    path = ensure_tiny_lightning_unet(tmp_path / "sdxl_lightning_4step_unet.safetensors")
    with pytest.raises(DetectionError, match="bare diffusers-format UNet") as refused:
        detect(path)
    assert "unet_repo" in str(refused.value)
