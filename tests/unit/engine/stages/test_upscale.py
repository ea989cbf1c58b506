"""`Engine.upscale`: both sides `scale` times larger and the same picture, by the built-in tiny
upscaler or by an installed ESRGAN-class network (a tiny random RRDBNet here), tile by tile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from sfumato.catalog import ModelCatalog
from sfumato.config import EngineSettings
from sfumato.engine import Engine
from sfumato.engine.stages.rrdbnet import RRDBNet
from sfumato.engine.stages.upscale import TILE, Upscaler
from sfumato.engine.weights.tiny_aux import TinyUpscaler

SETTINGS = EngineSettings(device="cpu", torch_threads=1)


def picture(width: int = 40, height: int = 28) -> Image.Image:
    """Smooth gradients and a bright square: a layout a scrambled upscale would lose."""
    yy, xx = np.mgrid[0:height, 0:width]
    pixels = np.stack([xx * 255 // width, yy * 255 // height, (xx + yy) * 127 // (width + height)], -1)
    pixels[height // 4 : height // 2, width // 4 : width // 2] = 240
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def similarity(a: Image.Image, b: Image.Image) -> float:
    return float(np.corrcoef(np.asarray(a, float).ravel(), np.asarray(b, float).ravel())[0, 1])


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(SETTINGS, tmp_path_factory.mktemp("models"))


@pytest.mark.parametrize("scale", [2, 4])
def test_the_built_in_upscaler_makes_both_sides_larger_and_keeps_the_picture(engine: Engine, scale: int) -> None:
    image = picture()
    upscaled = engine.upscale(image, scale)
    assert (upscaled.size, upscaled.mode) == ((image.width * scale, image.height * scale), "RGB")
    back = upscaled.resize(image.size, Image.Resampling.BICUBIC)
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (image.height, image.width, 3), np.uint8))
    assert similarity(back, image) > 0.95 > similarity(noise, image)
    assert (engine.models_dir / "sfumato-tiny-upscaler" / "model.safetensors").is_file()  # built on first use


def test_an_alpha_channel_is_upscaled_beside_the_picture(engine: Engine) -> None:
    image = picture().convert("RGBA")
    alpha = Image.new("L", image.size, 0)
    alpha.paste(255, (0, 0, image.width // 2, image.height))
    image.putalpha(alpha)
    upscaled = engine.upscale(image, 2)
    assert upscaled.mode == "RGBA" and upscaled.size == (image.width * 2, image.height * 2)
    left, right = np.asarray(upscaled.getchannel("A"))[:, :20], np.asarray(upscaled.getchannel("A"))[:, -20:]
    assert left.min() == 255 and right.max() == 0


def tiny_rrdbnet(**layout: int) -> RRDBNet:
    torch.manual_seed(0)
    return RRDBNet(features=8, blocks=1, growth=4, **layout).eval()


def installed_upscaler(tmp_path: Path, net: RRDBNet, scale: int, name: str = "esrgan.safetensors") -> Engine:
    """An engine whose catalog has a real upscaler row with `net`'s weights at its path."""
    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    if name.endswith(".safetensors"):
        save_file(net.state_dict(), str(models / name))
    else:
        torch.save({"params_ema": net.state_dict()}, models / name)
    operator = tmp_path / "operator.toml"
    operator.write_text(f'[[upscaler]]\nid = "mine"\nname = "Mine"\npath = "{name}"\nscale = {scale}\n')
    return Engine(SETTINGS, models, catalog=ModelCatalog.load(operator))


def test_an_installed_rrdbnet_serves_instead_of_the_built_in_one(tmp_path: Path) -> None:
    net = tiny_rrdbnet()
    engine = installed_upscaler(tmp_path, net, scale=4)
    image = picture(20, 12)
    upscaled = engine.upscale(image, 4)
    with torch.inference_mode():
        expected = net(torch.from_numpy(np.asarray(image, np.float32) / 255).permute(2, 0, 1)[None])
    pixels = (expected[0].permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    assert np.array_equal(np.asarray(upscaled), pixels)
    assert not (tmp_path / "models" / "sfumato-tiny-upscaler").exists()  # the built-in one was never needed


def test_a_x2_net_from_a_pth_checkpoint_reaches_other_factors_and_odd_sizes(tmp_path: Path) -> None:
    engine = installed_upscaler(tmp_path, tiny_rrdbnet(unshuffle=2), scale=2, name="x2.pth")
    image = picture(21, 13)  # odd sides: padded to the 2x2 pixel folding, then cropped
    assert engine.upscale(image, 2).size == (42, 26)
    assert engine.upscale(image, 4).size == (84, 52)


def test_weights_of_another_scale_or_architecture_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="x4 network, the catalog says x2"):
        installed_upscaler(tmp_path, tiny_rrdbnet(), scale=2).upscale(picture(), 2)
    with pytest.raises(ValueError, match="not an RRDBNet"):
        RRDBNet.from_state_dict({"model.0.weight": torch.zeros(1)})


def test_tiles_stitch_into_the_whole_pictures_result() -> None:
    """The tiny upscaler sees 2 pixels around each one, well inside the tiles' margins."""
    torch.manual_seed(0)
    net = TinyUpscaler(scale=2).eval()
    x = torch.rand(1, 3, TILE + 37, 24)
    with torch.inference_mode():
        tiled, whole = Upscaler(net, 2, "cpu")._run(x), net(x)
    assert tiled.shape == whole.shape and torch.allclose(tiled, whole, atol=1e-5)
