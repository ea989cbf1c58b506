"""Auxiliary models through the CLI: `models list` shows upscalers and background removers and
which one serves; `models pull <id>` fetches a real upscaler's file from a fake hub on loopback,
after which the engine upscales with it instead of the built-in tiny one; `models add --kind`
registers a local upscaler state dict or ONNX segmenter (what it is read off the file, a file that
is not what --kind says refused in one line), which the engine then uses, until `models remove`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
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


# --- `models add --kind upscaler|background-remover`: local files, read without building a network ---------


def engine_for(data_dir: Path) -> Engine:
    """An engine on the data dir's catalog, as a restarted server would build it."""
    catalog = ModelCatalog.load(local_file=local_catalog_path(data_dir))
    return Engine(EngineSettings(device="cpu", torch_threads=1), data_dir / "models", catalog=catalog)


def test_an_added_upscaler_state_dict_is_listed_used_and_removed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    torch.manual_seed(0)
    net = RRDBNet(features=8, blocks=1, growth=4, upsamples=1).eval()  # a x2 network
    weights = tmp_path / "Tiny_x2.pth"
    torch.save({"params_ema": net.state_dict()}, weights)  # as BasicSR's training checkpoints nest them
    added = run_cli(data_dir, "models", "add", str(weights), "--kind", "upscaler", "--name", "Tiny x2")
    assert added.stdout.strip() == "tiny_x2"  # the id from the file name
    row = ModelCatalog.load(local_file=local_catalog_path(data_dir)).upscalers["tiny_x2"]
    assert (row.name, row.scale, row.weights.path) == ("Tiny x2", 2, str(weights))  # the scale read off the weights
    listing = run_cli(data_dir, "models", "list").stdout
    assert cells(listing, "tiny_x2")[3:] == ["yes", "yes"]
    assert cells(listing, "sfumato-tiny-upscaler")[3:] == ["built in", ""]

    image = Image.fromarray(np.random.default_rng(2).integers(0, 256, (10, 14, 3), np.uint8))
    with torch.inference_mode():
        expected = net(torch.from_numpy(np.asarray(image, np.float32) / 255).permute(2, 0, 1)[None])
    pixels = (expected[0].permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    assert np.array_equal(np.asarray(engine_for(data_dir).upscale(image, 2)), pixels)

    removed = run_cli(data_dir, "models", "remove", "tiny_x2")
    assert "Tiny x2" in removed.stderr and weights.is_file()  # the catalog row goes, the file stays
    listing = run_cli(data_dir, "models", "list").stdout
    assert " tiny_x2 " not in listing and cells(listing, "sfumato-tiny-upscaler")[3:] == ["built in", "yes"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's TorchScript exporter, used for a tiny net
def test_an_added_onnx_segmenter_is_listed_used_and_removed(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")  # torch.onnx.export writes the test's network with it
    data_dir = tmp_path / "data"
    torch.manual_seed(0)
    segmenter = torch.nn.Sequential(torch.nn.Conv2d(3, 1, 3, padding=1)).eval()
    weights = tmp_path / "seg.onnx"
    torch.onnx.export(segmenter, (torch.rand(1, 3, 32, 32),), str(weights), dynamo=False)
    args = ["--kind", "background-remover", "--id", "my-seg", "--sigmoid", "--mean", "0.485", "0.456", "0.406"]
    assert run_cli(data_dir, "models", "add", str(weights), *args).stdout.strip() == "my-seg"
    row = ModelCatalog.load(local_file=local_catalog_path(data_dir)).background_removers["my-seg"]
    assert (row.input_size, row.mean, row.std, row.sigmoid) == (32, (0.485, 0.456, 0.406), (1.0, 1.0, 1.0), True)
    listing = run_cli(data_dir, "models", "list").stdout
    assert cells(listing, "my-seg")[3:] == ["yes", "yes"]
    assert cells(listing, "sfumato-tiny-segmenter")[3:] == ["built in", ""]

    yy, xx = np.mgrid[0:24, 0:40]
    image = Image.fromarray(np.stack([xx * 6, yy * 10, (xx + yy) * 4], -1).astype(np.uint8), "RGB")
    engine = engine_for(data_dir)
    cut = engine.remove_background(image)
    assert (cut.mode, cut.size) == ("RGBA", image.size) and np.asarray(cut.getchannel("A")).std() > 10
    assert not (engine.models_dir / "sfumato-tiny-segmenter").exists()  # the built-in one was never needed

    run_cli(data_dir, "models", "remove", "my-seg")
    assert cells(run_cli(data_dir, "models", "list").stdout, "sfumato-tiny-segmenter")[3:] == ["built in", "yes"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_add_refuses_files_that_are_not_what_kind_says_in_one_line(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    data_dir = tmp_path / "data"
    x2 = tmp_path / "x2.safetensors"
    save_file(RRDBNet(features=8, blocks=1, growth=4, upsamples=1).state_dict(), str(x2))
    segmenter = tmp_path / "seg.onnx"
    torch.onnx.export(torch.nn.Conv2d(3, 1, 1), (torch.rand(1, 3, 32, 32),), str(segmenter), dynamo=False)
    not_rrdb = tmp_path / "unet.safetensors"
    save_file({"conv_in.weight": torch.zeros(4, 4, 3, 3)}, str(not_rrdb))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf at all")
    (tmp_path / "net.bin").write_bytes(b"\0" * 16)
    upscaler, remover = ("--kind", "upscaler"), ("--kind", "background-remover")
    cases = [
        ((segmenter, *upscaler), "an upscaler is an RRDBNet state dict"),
        ((x2, *remover), "a background remover is an ONNX segmenter"),
        ((tmp_path / "net.bin", *upscaler), "not a .bin file"),
        ((not_rrdb, *upscaler), "not an RRDBNet"),
        ((junk, *remover), "is not an ONNX model"),
        ((x2, *upscaler, "--scale", "4"), "is a x2 network, not x4"),
        ((segmenter, *remover, "--input-size", "64"), "takes 32x32 pictures, not 64"),
        ((segmenter, *remover, "--scale", "2"), "--scale is for --kind upscaler"),
        ((x2, *upscaler, "--id", "sfumato-tiny-upscaler"), "already in the catalog"),
    ]
    for args, reason in cases:
        refused = run_cli(data_dir, "models", "add", *map(str, args), check=False)
        assert (refused.returncode, refused.stdout) == (2, ""), args
        assert reason in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert not local_catalog_path(data_dir).exists()  # nothing was written
    shipped = run_cli(data_dir, "models", "remove", "sfumato-tiny-upscaler", check=False)
    assert shipped.returncode == 2 and "shipped catalog model" in shipped.stderr
