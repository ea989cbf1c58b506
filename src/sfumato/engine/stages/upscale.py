"""Upscaling a finished picture with the catalog's upscaler: both sides `scale` times larger.

The network runs on tiles with overlapping margins, so a large picture's activations (an ESRGAN
keeps 64 channels at the output's resolution) stay within memory; a factor the network does not
have natively is reached by resizing its output (Lanczos) to exactly `scale` times the input.
An alpha channel is resized with Lanczos beside the network's RGB.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file
from torch import nn
from torch.nn import functional

from sfumato.catalog import UpscalerEntry
from sfumato.engine.stages.rrdbnet import RRDBNet
from sfumato.engine.weights.tiny_aux import load_tiny_aux

# Input pixels per tile side, and the margin each tile borrows from its neighbours so the seams
# do not show (both multiples of 4, the coarsest pixel folding an RRDBNet does).
TILE = 256
OVERLAP = 16


class Upscaler:
    """A loaded upscaling network on its device; one picture at a time (calls take turns)."""

    def __init__(self, net: nn.Module, native_scale: int, device: str, multiple: int = 1) -> None:
        self.net = net.to(device)
        self.native_scale = native_scale
        self.device = device
        # Input sides must be multiples of this (an RRDBNet folding 2x2 or 4x4 pixels into channels).
        self.multiple = multiple
        self._lock = threading.Lock()

    def __call__(self, image: Image.Image, scale: int) -> Image.Image:
        if scale < 1:
            raise ValueError(f"an upscale factor must be at least 1 (got {scale})")
        size = (image.width * scale, image.height * scale)
        rgb = image.convert("RGB")
        with self._lock, torch.inference_mode():
            out = self._run(torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 255.0).permute(2, 0, 1)[None])
        pixels = (out[0].permute(1, 2, 0).clamp(0, 1) * 255.0).round().to(torch.uint8).cpu().numpy()
        result = Image.fromarray(pixels, "RGB")
        if result.size != size:
            result = result.resize(size, Image.Resampling.LANCZOS)
        if "A" in image.getbands():
            result.putalpha(image.getchannel("A").resize(size, Image.Resampling.LANCZOS))
        return result

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        """The network on `x` (1x3xHxW, 0..1), padded to its multiple, tile by tile."""
        height, width = x.shape[-2:]
        pad_h, pad_w = -height % self.multiple, -width % self.multiple
        if pad_h or pad_w:
            x = functional.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        x = x.to(self.device)
        s = self.native_scale
        out = x.new_zeros((1, 3, x.shape[-2] * s, x.shape[-1] * s))
        for top in range(0, x.shape[-2], TILE):
            for left in range(0, x.shape[-1], TILE):
                bottom, right = min(top + TILE, x.shape[-2]), min(left + TILE, x.shape[-1])
                t0, l0 = max(top - OVERLAP, 0), max(left - OVERLAP, 0)
                piece = self.net(
                    x[:, :, t0 : min(bottom + OVERLAP, x.shape[-2]), l0 : min(right + OVERLAP, x.shape[-1])]
                )
                out[:, :, top * s : bottom * s, left * s : right * s] = piece[
                    :, :, (top - t0) * s : (bottom - t0) * s, (left - l0) * s : (right - l0) * s
                ]
        return out[:, :, : height * s, : width * s].float()


def load_upscaler(entry: UpscalerEntry, models_dir: Path, device: str) -> Upscaler:
    """The entry's network: the built-in tiny one, or an RRDBNet from a .safetensors / .pth state dict."""
    location = entry.weights.location(models_dir)
    if entry.weights.builtin is not None:
        return Upscaler(load_tiny_aux(entry.weights.builtin, location), entry.scale, device)
    if location.suffix == ".safetensors":
        state = load_file(str(location))
    else:  # a pickled state dict: weights_only refuses anything but tensors and plain containers
        state = torch.load(location, map_location="cpu", weights_only=True)
    try:
        net = RRDBNet.from_state_dict(state)
    except ValueError as error:
        raise ValueError(f"upscaler {entry.name!r} ({location}): {error}") from None
    if net.scale != entry.scale:
        raise ValueError(
            f"upscaler {entry.name!r}: its weights are a x{net.scale} network, the catalog says x{entry.scale}"
        )
    return Upscaler(net, net.scale, device, multiple=net.unshuffle)
