"""Background removal: a segmenter's mask of the picture's subject becomes its alpha channel.

The network sees the picture resized to its `input_size` square and normalised with the
entry's `mean`/`std` (the way it was trained); its first output channel (through a sigmoid for
networks that answer logits) is min-max scaled to 0..1, resized back, and multiplied into any
alpha the picture already had. Real segmenters are ONNX files run by onnxruntime (the optional
`sfumato[onnx]` extra: no torch or torchvision involved); the built-in tiny one runs in torch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageChops

from sfumato.catalog import BackgroundRemoverEntry
from sfumato.engine.weights.tiny_aux import load_tiny_aux

# A network's answer for one batch of one picture (1x3xSxS float32 in, its raw outputs' first array out).
Predict = Callable[[np.ndarray], np.ndarray]


class BackgroundRemover:
    """A loaded segmenter; one picture at a time (calls take turns)."""

    def __init__(self, entry: BackgroundRemoverEntry, predict: Predict) -> None:
        self.entry = entry
        self._predict = predict
        self._lock = threading.Lock()

    def mask(self, image: Image.Image) -> Image.Image:
        """The subject's mask ("L", the picture's size): 255 keeps a pixel, 0 clears it."""
        side = self.entry.input_size
        rgb = image.convert("RGB").resize((side, side), Image.Resampling.BILINEAR)
        mean, std = np.asarray(self.entry.mean, dtype=np.float32), np.asarray(self.entry.std, dtype=np.float32)
        x = (np.asarray(rgb, dtype=np.float32) / 255.0 - mean) / std
        with self._lock:
            out = np.asarray(self._predict(np.ascontiguousarray(x.transpose(2, 0, 1)[None])), dtype=np.float32)
        scores = out.reshape(-1, *out.shape[-2:])[0]
        if self.entry.sigmoid:
            scores = 1.0 / (1.0 + np.exp(-scores))
        low, high = float(scores.min()), float(scores.max())
        scaled = (scores - low) / max(high - low, 1e-6)
        mask = Image.fromarray((scaled * 255.0).round().astype(np.uint8), "L")
        return mask.resize(image.size, Image.Resampling.BILINEAR)

    def __call__(self, image: Image.Image) -> Image.Image:
        """`image` as RGBA of the same size, its alpha the subject's mask."""
        alpha = self.mask(image)
        if "A" in image.getbands():
            alpha = ImageChops.multiply(alpha, image.getchannel("A"))
        result = image.convert("RGB")
        result.putalpha(alpha)
        return result


def load_background_remover(
    entry: BackgroundRemoverEntry, models_dir: Path, device: str, threads: int | None = None
) -> BackgroundRemover:
    """The entry's segmenter: the built-in tiny torch net, or an ONNX file through onnxruntime."""
    location = entry.weights.location(models_dir)
    if entry.weights.builtin is not None:
        net = load_tiny_aux(entry.weights.builtin, location).to(device)

        def predict(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return net(torch.from_numpy(x).to(device)).float().cpu().numpy()

        return BackgroundRemover(entry, predict)
    if location.suffix != ".onnx":
        raise ValueError(f"background remover {entry.name!r}: {location} is not an .onnx file")
    return BackgroundRemover(entry, _onnx_predict(location, device, threads))


def _onnx_predict(location: Path, device: str, threads: int | None) -> Predict:
    try:
        import onnxruntime
    except ImportError:
        raise ValueError(
            f"{location} is an ONNX model, which runs with onnxruntime: pip install 'sfumato[onnx]'"
        ) from None
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    available = onnxruntime.get_available_providers()
    wanted = ["CUDAExecutionProvider"] if device.startswith("cuda") else []
    providers = [p for p in wanted if p in available] + ["CPUExecutionProvider"]
    session = onnxruntime.InferenceSession(str(location), options, providers=providers)
    name = session.get_inputs()[0].name

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(session.run(None, {name: x})[0])

    return predict
