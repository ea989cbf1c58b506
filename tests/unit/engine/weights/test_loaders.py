"""Every kind of model source through the renderer: a single-file checkpoint (made here from a tiny
model in the original LDM layout) with a config folder, a base folder with a replacement UNet file,
and the warm-up render (the renderer handing it to prepare_pipeline: tests/unit/engine/runtime/test_optimize.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from sfumato.catalog import CatalogEntry
from sfumato.engine.families import family_of
from sfumato.engine.renderer import Renderer, warm_up
from sfumato.engine.runtime.cache import PipelineCache
from sfumato.engine.weights.detect import detect
from sfumato.engine.weights.loaders import ModelSource, ModelSourceError
from sfumato.engine.weights.tiny import build_tiny_pipeline, ensure_tiny_model
from tests.support.render_requests import tiny_render
from tests.support.single_file import write_ldm_checkpoint
from tests.support.tiny_families import build_tiny_family_pipeline, ensure_tiny_family_model

REQUEST = tiny_render(guidance_scale=5.0)  # renders test the loading, not picture quality
MODULES = ("unet", "vae", "text_encoder", "text_encoder_2")


def configs_only(pipe: Any, folder: Path) -> Path:
    """A diffusers folder with every config, the scheduler and the tokenizers but no weights, so a
    single-file load must take every weight from the file (diffusers would otherwise quietly load a
    component the file lacks from the folder)."""
    pipe.save_pretrained(folder)
    for weights in folder.rglob("*.safetensors"):
        weights.unlink()
    return folder


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    ours, theirs = a.state_dict(), b.state_dict()
    return ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_tiny_model(tmp_path_factory.mktemp("loaders") / "tiny")


# --- single-file checkpoints -------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_a_single_file_checkpoint_loads_back_to_the_same_weights(tmp_path: Path, family: str) -> None:
    pipe = build_tiny_pipeline() if family == "sd15" else build_tiny_family_pipeline("sdxl")
    checkpoint = write_ldm_checkpoint(pipe, tmp_path / "model.safetensors")
    assert detect(checkpoint).family == family  # the original-format names Sfumato detects families by
    config = configs_only(pipe, tmp_path / "config")

    cache: PipelineCache[Any] = PipelineCache()
    renderer = Renderer(cache=cache)
    source = ModelSource.from_file(checkpoint, family, config)
    loaded = renderer.load(source)
    for name in MODULES:
        if getattr(pipe, name, None) is not None:
            assert same_weights(getattr(loaded, name), getattr(pipe, name)), name
    assert renderer.load(source) is loaded and cache.stats().entries == 1

    # And it draws exactly what the diffusers folder of the same weights draws.
    pipe.save_pretrained(tmp_path / "folder")
    from_file = renderer.render(source, REQUEST)[0]
    from_folder = renderer.render(ModelSource.from_folder(tmp_path / "folder", family), REQUEST)[0]
    assert np.array_equal(np.asarray(from_file), np.asarray(from_folder))


def test_a_single_file_needs_a_local_config_folder(tmp_path: Path, tiny_folder: Path) -> None:
    checkpoint = write_ldm_checkpoint(build_tiny_pipeline(), tmp_path / "model.safetensors")
    cache: PipelineCache[Any] = PipelineCache()
    renderer = Renderer(cache=cache)
    with pytest.raises(ModelSourceError, match="no config folder"):
        renderer.render(ModelSource.from_file(checkpoint, "sd15", None), REQUEST)
    # A path that is not a local diffusers folder is refused here: diffusers would take it for a hub repo id.
    with pytest.raises(ModelSourceError, match="not a diffusers folder"):
        renderer.render(ModelSource.from_file(checkpoint, "sd15", tmp_path / "runwayml/stable-diffusion-v1-5"), REQUEST)
    with pytest.raises(ModelSourceError, match="does not exist"):
        renderer.render(ModelSource.from_file(tmp_path / "missing.safetensors", "sd15", tiny_folder), REQUEST)
    assert (cache.stats().entries, cache.stats().load_failures) == (0, 3)


# --- base folder + replacement UNet --------------------------------------------------------------


def test_a_unet_file_that_does_not_fit_the_base_is_refused(tmp_path: Path) -> None:
    base = ensure_tiny_family_model("sdxl", tmp_path / "sdxl")
    wrong = tmp_path / "sd15-unet.safetensors"
    save_file(build_tiny_pipeline().unet.state_dict(), str(wrong))
    with pytest.raises(ModelSourceError, match="does not fit the UNet"):
        Renderer().load(ModelSource.from_folder(base, "sdxl-lightning", unet_file=wrong))
    with pytest.raises(ModelSourceError, match="does not exist"):
        Renderer().load(ModelSource.from_folder(base, "sdxl-lightning", unet_file=tmp_path / "missing.safetensors"))


def _entry(**source: str) -> CatalogEntry:
    return CatalogEntry.from_row({
        "id": "0f0a0000-0000-4000-8000-000000000001", "name": "x", "family": "sdxl", "sd_version": "SDXL_1_0",
        "native_width": 1024, "native_height": 768, "default_steps": 30, "default_guidance": 6.0, **source,
    })  # fmt: skip


def test_catalog_rows_become_sources_whose_keys_tell_them_apart(tmp_path: Path) -> None:
    models = tmp_path / "models"
    plain = ModelSource.from_entry(_entry(repo="stabilityai/sdxl"), models)
    lightning = ModelSource.from_entry(
        _entry(repo="stabilityai/sdxl", unet_repo="bd/l", unet_file="u.safetensors"), models
    )
    single = ModelSource.from_entry(_entry(file="/ckpt/x.safetensors", config="stabilityai--sdxl"), models)
    assert plain.folder == lightning.folder == (models / "stabilityai--sdxl").resolve()
    assert lightning.unet_file == (models / "bd--l" / "u.safetensors").resolve()
    assert (single.file, single.config, single.folder) == (Path("/ckpt/x.safetensors"), plain.folder, None)
    assert len({plain.key, lightning.key, single.key}) == 3
    assert plain.native_size == (1024, 768) and plain.default_guidance == 6.0
    assert plain == replace(plain, native_size=None)  # warm-up hints are not part of the identity


def test_a_weights_variant_loads_its_own_files(tmp_path: Path) -> None:
    """A row with `variant = "fp16"` loads `*.fp16.safetensors`, not the plain files beside them."""
    folder = tmp_path / "with-variant"
    plain, half = build_tiny_pipeline(), build_tiny_pipeline().to(torch.float16)
    torch.nn.init.constant_(half.unet.conv_out.weight, 0.5)  # tell the two copies apart
    plain.save_pretrained(folder)
    half.save_pretrained(folder, variant="fp16")
    source = ModelSource.from_entry(_entry(path=str(folder), variant="fp16"), tmp_path)
    assert source.weights_variant == "fp16" and source.key != ModelSource.from_folder(folder).key
    loaded: Any = Renderer().load(replace(source, family="sd15"))
    assert torch.all(loaded.unet.conv_out.weight == 0.5)
    assert not torch.all(Renderer().load(ModelSource.from_folder(folder)).unet.conv_out.weight == 0.5)


# --- warm-up -------------------------------------------------------------------------------------


def _count_unet_batches(pipe: Any) -> tuple[list[tuple[int, ...]], Any]:
    shapes: list[tuple[int, ...]] = []
    hook = pipe.unet.register_forward_pre_hook(lambda _module, args: shapes.append(tuple(args[0].shape)))
    return shapes, hook


@pytest.mark.parametrize(("guidance", "batch"), [(None, 2), (1.0, 1)])
def test_warm_up_renders_two_steps_at_the_native_size(tiny_folder: Path, guidance: float | None, batch: int) -> None:
    pipe = Renderer().load(ModelSource.from_folder(tiny_folder))
    scheduler = pipe.scheduler
    shapes, hook = _count_unet_batches(pipe)
    try:
        warm_up(pipe, family_of("sd15"), replace(ModelSource.from_folder(tiny_folder), default_guidance=guidance))
    finally:
        hook.remove()
    # Two steps on Sfumato Tiny's native 64 px (an 8x8 latent), CFG doubling the batch unless guidance is 1.
    assert shapes == [(batch, 4, 8, 8)] * 2
    assert pipe.scheduler is scheduler  # the cached pipeline is left alone
