"""RRDBNet, the generator of ESRGAN and Real-ESRGAN, vendored so their weights load without spandrel.

spandrel (the usual loader of upscaler checkpoints) requires torchvision, which cannot be
installed beside the CPU torch this project pins (see docs/models.md); the network itself is
plain convolutions. The layer names follow BasicSR's `RRDBNet`, so Real-ESRGAN's state dicts
(`RealESRGAN_x4plus.pth`, ai-forever's `RealESRGAN_x2/x4/x8.pth`, or the same as .safetensors)
load as they are, and `from_state_dict` reads the layout (width, depth, scale) off the tensors
(`weights/detect_aux.py`, which `models add` uses without torch).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from sfumato.engine.weights.detect_aux import rrdbnet_layout, unwrap_state


class _DenseBlock(nn.Module):
    """Five 3x3 convolutions, each seeing every earlier output; scaled residual."""

    def __init__(self, features: int, growth: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(features, growth, 3, 1, 1)
        self.conv2 = nn.Conv2d(features + growth, growth, 3, 1, 1)
        self.conv3 = nn.Conv2d(features + 2 * growth, growth, 3, 1, 1)
        self.conv4 = nn.Conv2d(features + 3 * growth, growth, 3, 1, 1)
        self.conv5 = nn.Conv2d(features + 4 * growth, features, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        return self.conv5(torch.cat((x, x1, x2, x3, x4), 1)) * 0.2 + x


class _RRDB(nn.Module):
    """Residual in residual dense block: three dense blocks and a scaled skip."""

    def __init__(self, features: int, growth: int) -> None:
        super().__init__()
        self.rdb1 = _DenseBlock(features, growth)
        self.rdb2 = _DenseBlock(features, growth)
        self.rdb3 = _DenseBlock(features, growth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """`unshuffle` folds 2x2 (x2 nets) or 4x4 (x1) pixels into channels first; `upsamples` nearest
    x2 steps follow the trunk, so the net's scale is 2**upsamples / unshuffle. Input and output in 0..1."""

    def __init__(
        self, features: int = 64, blocks: int = 23, growth: int = 32, upsamples: int = 2, unshuffle: int = 1
    ) -> None:
        super().__init__()
        self.unshuffle = unshuffle
        self.upsamples = upsamples
        self.conv_first = nn.Conv2d(3 * unshuffle * unshuffle, features, 3, 1, 1)
        self.body = nn.Sequential(*(_RRDB(features, growth) for _ in range(blocks)))
        self.conv_body = nn.Conv2d(features, features, 3, 1, 1)
        for i in range(1, upsamples + 1):
            setattr(self, f"conv_up{i}", nn.Conv2d(features, features, 3, 1, 1))
        self.conv_hr = nn.Conv2d(features, features, 3, 1, 1)
        self.conv_last = nn.Conv2d(features, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    @property
    def scale(self) -> int:
        return 2**self.upsamples // self.unshuffle

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = functional.pixel_unshuffle(x, self.unshuffle) if self.unshuffle > 1 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        for i in range(1, self.upsamples + 1):
            feat = self.lrelu(
                getattr(self, f"conv_up{i}")(functional.interpolate(feat, scale_factor=2, mode="nearest"))
            )
        return self.conv_last(self.lrelu(self.conv_hr(feat)))

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> RRDBNet:
        """The net these weights fit, with them loaded; ValueError for another architecture's weights."""
        state = unwrap_state(state)
        layout = rrdbnet_layout({key: tuple(value.shape) for key, value in state.items() if hasattr(value, "shape")})
        net = cls(**dataclasses.asdict(layout))
        net.load_state_dict(dict(state))
        return net.eval()
