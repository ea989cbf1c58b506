"""`Engine.remove_background`: RGBA of the same size whose alpha is a segmenter's mask, by the
built-in tiny segmenter or an installed ONNX one (when onnxruntime, the `onnx` extra, is there)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sfumato.catalog import ModelCatalog
from sfumato.config import EngineSettings
from sfumato.engine import Engine

SETTINGS = EngineSettings(device="cpu", torch_threads=1)


def picture(width: int = 48, height: int = 36) -> Image.Image:
    """A dark background with a bright disc and a gradient: content a mask can follow."""
    yy, xx = np.mgrid[0:height, 0:width]
    disc = (xx - width / 2) ** 2 + (yy - height / 2) ** 2 < (height / 3) ** 2
    pixels = np.stack([np.where(disc, 230, 20), np.where(disc, 200, xx * 3), np.where(disc, 40, yy * 4)], -1)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(SETTINGS, tmp_path_factory.mktemp("models"))


def test_the_built_in_segmenter_gives_an_rgba_picture_with_a_varying_alpha(engine: Engine) -> None:
    image = picture()
    cut = engine.remove_background(image)
    assert (cut.mode, cut.size) == ("RGBA", image.size)
    assert np.array_equal(np.asarray(cut.convert("RGB")), np.asarray(image))  # colours untouched
    alpha = np.asarray(cut.getchannel("A"), float)
    assert alpha.std() > 10 and alpha.max() - alpha.min() > 100
    assert engine.remove_background(image).tobytes() == cut.tobytes()  # fixed weights: the same mask


def test_pixels_already_transparent_stay_transparent(engine: Engine) -> None:
    image = picture().convert("RGBA")
    alpha = Image.new("L", image.size, 255)
    alpha.paste(0, (0, 0, 10, image.height))
    image.putalpha(alpha)
    cut = np.asarray(engine.remove_background(image).getchannel("A"))
    assert cut[:, :10].max() == 0


def test_making_an_engine_stays_torch_free(tmp_path: Path) -> None:
    """The door builds its auxiliary models lazily: an API-only process never pays for torch."""
    code = (
        "import sys\nfrom pathlib import Path\nfrom sfumato.config import EngineSettings\n"
        "from sfumato.engine import Engine\n"
        f"Engine(EngineSettings(), Path({str(tmp_path)!r}))\n"
        "print(sorted({'torch', 'diffusers', 'onnxruntime'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def onnx_row(tmp_path: Path) -> Engine:
    models = tmp_path / "models"
    models.mkdir()
    operator = tmp_path / "operator.toml"
    operator.write_text(
        '[[background_remover]]\nid = "seg"\nname = "Seg"\npath = "seg.onnx"\ninput_size = 32\nsigmoid = true\n'
    )
    return Engine(SETTINGS, models, catalog=ModelCatalog.load(operator))


def test_an_onnx_row_without_onnxruntime_says_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as on an install without the extra: import fails
    engine = onnx_row(tmp_path)
    (engine.models_dir / "seg.onnx").write_bytes(b"not read")
    with pytest.raises(ValueError, match=r"pip install 'sfumato\[onnx\]'"):
        engine.remove_background(picture())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's TorchScript exporter, used for a tiny net
def test_an_installed_onnx_segmenter_serves_instead_of_the_built_in_one(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")  # torch.onnx.export writes the test's network with it
    engine = onnx_row(tmp_path)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 1, 3, padding=1)).eval()
    torch.onnx.export(net, (torch.rand(1, 3, 32, 32),), str(engine.models_dir / "seg.onnx"), dynamo=False)
    cut = engine.remove_background(picture())
    assert cut.mode == "RGBA" and np.asarray(cut.getchannel("A")).std() > 10
    assert not (engine.models_dir / "sfumato-tiny-segmenter").exists()
