"""Auxiliary models through the CLI: `models list` shows upscalers and background removers and
which one serves; `models pull <id>` fetches a real upscaler's file from a fake hub on loopback,
after which the engine upscales with it instead of the built-in tiny one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

from sfumato.catalog import ModelCatalog, local_catalog_path
from sfumato.config import EngineSettings
from sfumato.engine import Engine
from sfumato.engine.stages.rrdbnet import RRDBNet
from tests.conftest import run_cli
from tests.support.fake_hub import HUB_ENV, FakeHub

REPO = "sfumato-test/esrgan"
ROW = (
    f'[[upscaler]]\nid = "test-esrgan"\nname = "Test ESRGAN"\nrepo = "{REPO}"\nfile = "x4/net.safetensors"\nscale = 4\n'
)


def cells(listing: str, aux_id: str) -> list[str]:
    """The row's cells in `models list`'s table: id, name, served by, installed, in use."""
    line = next(line for line in listing.splitlines() if f" {aux_id} " in line)
    return [cell.strip() for cell in line.strip()[1:-1].split("│")]


def test_list_shows_the_kinds_and_pull_installs_an_upscaler_the_engine_then_uses(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    local_catalog_path(data_dir).write_text(ROW)
    listing = run_cli(data_dir, "models", "list").stdout
    assert "Auxiliary models: upscalers" in listing and "Auxiliary models: background removers" in listing
    assert "sfumato-tiny-segmenter" in listing and "bria-rmbg-1.4" in listing
    assert cells(listing, "test-esrgan")[3:] == ["", ""]  # listed, not installed, not used
    assert cells(listing, "sfumato-tiny-upscaler")[3:] == ["built in", "yes"]

    torch.manual_seed(0)
    net = RRDBNet(features=8, blocks=1, growth=4).eval()
    served = tmp_path / "repo"
    (served / "x4").mkdir(parents=True)
    save_file(net.state_dict(), str(served / "x4" / "net.safetensors"))
    hub = FakeHub({REPO: served})
    url = hub.start()
    try:
        run_cli(data_dir, "models", "pull", "test-esrgan", "--endpoint", url, env=HUB_ENV)
    finally:
        hub.stop()
    models_dir = data_dir / "models"
    assert (models_dir / "sfumato-test--esrgan" / "x4" / "net.safetensors").is_file()
    listing = run_cli(data_dir, "models", "list").stdout
    assert cells(listing, "test-esrgan")[3:] == ["yes", "yes"]
    assert cells(listing, "sfumato-tiny-upscaler")[3:] == ["built in", ""]

    engine = Engine(
        EngineSettings(device="cpu", torch_threads=1),
        models_dir,
        catalog=ModelCatalog.load(local_file=local_catalog_path(data_dir)),
    )
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (12, 16, 3), np.uint8))
    with torch.inference_mode():
        expected = net(torch.from_numpy(np.asarray(image, np.float32) / 255).permute(2, 0, 1)[None])
    pixels = (expected[0].permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    assert np.array_equal(np.asarray(engine.upscale(image, 4)), pixels)
