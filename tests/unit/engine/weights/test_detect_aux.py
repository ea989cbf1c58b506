"""What an auxiliary model's file is, read without building its network (`models add --kind`):
an RRDBNet's layout and scale off its tensor shapes, an ONNX segmenter's input off its protobuf."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from sfumato.engine import DetectionError, detect_background_remover, detect_upscaler
from sfumato.engine.stages.rrdbnet import RRDBNet
from sfumato.engine.weights.detect_aux import RRDBLayout


@pytest.mark.parametrize(("upsamples", "unshuffle", "scale"), [(2, 1, 4), (3, 1, 8), (2, 2, 2), (2, 4, 1)])
def test_the_layout_and_scale_of_an_rrdbnet_are_read_off_either_file_format(
    tmp_path: Path, upsamples: int, unshuffle: int, scale: int
) -> None:
    net = RRDBNet(features=8, blocks=2, growth=4, upsamples=upsamples, unshuffle=unshuffle)
    save_file(net.state_dict(), str(tmp_path / "net.safetensors"))
    torch.save({"params_ema": net.state_dict()}, tmp_path / "net.pth")  # BasicSR's training checkpoint nesting
    expected = RRDBLayout(features=8, blocks=2, growth=4, upsamples=upsamples, unshuffle=unshuffle)
    for name in ("net.safetensors", "net.pth"):
        layout = detect_upscaler(tmp_path / name)
        assert (layout, layout.scale, net.scale) == (expected, scale, scale)


def test_an_upscaler_file_of_another_kind_is_refused_naming_why(tmp_path: Path) -> None:
    save_file({"conv_in.weight": torch.zeros(4, 4, 3, 3)}, str(tmp_path / "unet.safetensors"))
    torch.save([torch.zeros(1)], tmp_path / "list.pth")
    torch.save({"net": torch.nn.Conv2d(1, 1, 1)}, tmp_path / "module.pth")  # a pickled module, not a state dict
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    (tmp_path / "net.onnx").write_bytes(b"\x08\x07")
    refusals = {
        "unet.safetensors": "not an RRDBNet",
        "list.pth": "holds a list, not a state dict",
        "module.pth": "a pickle of more than tensors",
        "junk.safetensors": "not a readable .safetensors file",
        "net.onnx": "an upscaler is an RRDBNet state dict",
        "absent.pth": "does not exist",
    }
    for name, reason in refusals.items():
        with pytest.raises(DetectionError, match=reason) as refused:
            detect_upscaler(tmp_path / name)
        assert "\n" not in str(refused.value)


def export(path: Path, net: torch.nn.Module, shape: tuple[int, ...], **options: object) -> Path:
    torch.onnx.export(net.eval(), (torch.rand(*shape),), str(path), dynamo=False, **options)  # type: ignore[arg-type]
    return path


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's TorchScript exporter, used for tiny nets
def test_an_onnx_segmenter_shows_the_square_side_it_takes_or_none_when_dynamic(tmp_path: Path) -> None:
    pytest.importorskip("onnx")  # torch.onnx.export writes the test's networks with it
    conv = torch.nn.Conv2d(3, 1, 3, padding=1)
    assert detect_background_remover(export(tmp_path / "fixed.onnx", conv, (1, 3, 32, 32))) == 32
    dynamic = {"input_names": ["x"], "dynamic_axes": {"x": {0: "n", 2: "h", 3: "w"}}}
    assert detect_background_remover(export(tmp_path / "dynamic.onnx", conv, (1, 3, 32, 32), **dynamic)) is None
    with pytest.raises(DetectionError, match=r"its input is \[1, 1, 32, 32\]; a background remover takes"):
        detect_background_remover(export(tmp_path / "grey.onnx", torch.nn.Conv2d(1, 1, 1), (1, 1, 32, 32)))
    with pytest.raises(DetectionError, match="not square"):
        detect_background_remover(export(tmp_path / "wide.onnx", conv, (1, 3, 16, 32)))


def test_files_that_are_not_onnx_models_are_refused(tmp_path: Path) -> None:
    save_file({"a": torch.zeros(2)}, str(tmp_path / "weights.onnx"))
    (tmp_path / "text.onnx").write_text("not a protobuf")
    (tmp_path / "empty.onnx").write_bytes(b"")
    (tmp_path / "varint.onnx").write_bytes(b"\x08\x09")  # a well-formed protobuf with an ir_version, no graph
    (tmp_path / "seg.pth").write_bytes(b"")
    for name in ("weights.onnx", "text.onnx", "empty.onnx", "varint.onnx"):
        with pytest.raises(DetectionError, match="is not an ONNX model"):
            detect_background_remover(tmp_path / name)
    with pytest.raises(DetectionError, match=r"a background remover is an ONNX segmenter \(.onnx\), not a .pth file"):
        detect_background_remover(tmp_path / "seg.pth")


def test_detecting_a_safetensors_upscaler_or_an_onnx_file_loads_no_torch(tmp_path: Path) -> None:
    save_file(RRDBNet(features=8, blocks=1, growth=4).state_dict(), str(tmp_path / "net.safetensors"))
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    code = (
        "import sys\nfrom pathlib import Path\nfrom sfumato.engine import DetectionError, detect_background_remover, "
        "detect_upscaler\n"
        f"print(detect_upscaler(Path({str(tmp_path / 'net.safetensors')!r})).scale)\n"
        f"try:\n    detect_background_remover(Path({str(tmp_path / 'junk.onnx')!r}))\n"
        "except DetectionError:\n    pass\nprint('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.split() == ["4", "False"]
