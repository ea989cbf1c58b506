"""The built-in guidance models: a tiny ControlNet for Sfumato Tiny, tiny depth and pose estimators.

Like Sfumato Tiny they are built offline on first use (`tiny_aux.ensure_tiny_aux`) with fixed
random weights, so a fresh install and the tests run ControlNet guidance with nothing downloaded:

- the ControlNet is `ControlNetModel.from_unet` of Sfumato Tiny's UNet (so it fits only that
  UNet). A ControlNet's output convolutions start at zero, which would make it draw exactly as
  without it; here they get random weights (`wake_controlnet`), so the control image really changes
  the picture;
- the depth estimator is a tiny DPT (transformers' `DPTForDepthEstimation`) with its image
  processor: it answers a depth map of the picture's size that varies with the picture, not its depth;
- the pose estimator is a tiny VitPose (`VitPoseForPoseEstimation`, 17 COCO keypoints): its
  keypoints move with the picture but are no one's pose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from diffusers.models.controlnets.controlnet import ControlNetModel
from torch import nn

from sfumato.engine.weights.tiny import build_tiny_pipeline

_SEED = 20240603
# Spread of the re-initialised layers: the outputs into the denoiser enough to move the tiny
# model's pictures, the control image's embedding wider so that the image itself shows.
CONTROL_OUTPUT_STD = 0.1
CONTROL_INPUT_STD = 1.0
DEPTH_SIZE = 64


# The layers diffusers zero-initialises (`zero_module`): the control image's embedding output, and
# the residual outputs into the denoiser (UNet ControlNets; FLUX's double and single blocks).
_ZERO_INPUTS = ("controlnet_cond_embedding.conv_out", "controlnet_x_embedder")
_EMBEDDING = "controlnet_cond_embedding."
_ZERO_OUTPUTS = (
    "controlnet_down_blocks",
    "controlnet_mid_block",
    "controlnet_blocks",
    "controlnet_single_blocks",
)


def wake_controlnet(controlnet: nn.Module) -> None:
    """Give a fresh ControlNet's zero-initialised output layers small random weights (they start at
    zero so training begins from the base model; untrained, that would be no guidance at all), and its
    control-image embedding He-initialised, so that the control image itself, not only the
    ControlNet's presence, shows in the picture."""
    for name, parameter in controlnet.named_parameters():
        if not name.endswith("weight"):
            continue
        if name.startswith((*_ZERO_INPUTS, *_ZERO_OUTPUTS)):
            nn.init.normal_(parameter, std=CONTROL_INPUT_STD if name.startswith(_ZERO_INPUTS) else CONTROL_OUTPUT_STD)
        elif name.startswith(_EMBEDDING) and parameter.dim() == 4:
            # He initialisation keeps the control image's signal through the embedding's SiLU stack
            # (diffusers' default lets it fade, so the image would barely show).
            nn.init.kaiming_normal_(parameter)


def build_tiny_controlnet() -> ControlNetModel:
    """Sfumato Tiny's ControlNet (see the module doc); the caller's RNG state is left as it was."""
    unet = build_tiny_pipeline().unet
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_SEED)
        controlnet = ControlNetModel.from_unet(unet)
        wake_controlnet(controlnet)
    return controlnet.eval()


class ModelFolder:
    """A transformers model and its image processor, saved into one folder as transformers reads them back."""

    def __init__(self, model: Any, processor: Any) -> None:
        self.model = model
        self.processor = processor

    def save_pretrained(self, folder: Path, safe_serialization: bool = True) -> None:
        self.model.save_pretrained(folder, safe_serialization=safe_serialization)
        self.processor.save_pretrained(folder)


def build_tiny_depth_estimator() -> ModelFolder:
    """A tiny DPT depth model at 64 px (see the module doc)."""
    from transformers import DPTConfig, DPTForDepthEstimation
    from transformers.models.dpt.image_processing_pil_dpt import DPTImageProcessorPil

    config = DPTConfig(
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=37,
        image_size=DEPTH_SIZE,
        patch_size=16,
        is_hybrid=False,
        neck_hidden_sizes=[8, 16, 32, 32],
        fusion_hidden_size=16,
        backbone_out_indices=[0, 1, 2, 3],
        head_in_index=-1,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_SEED + 1)
        model = DPTForDepthEstimation(config).eval()
    processor = DPTImageProcessorPil(size={"height": DEPTH_SIZE, "width": DEPTH_SIZE}, keep_aspect_ratio=False)
    return ModelFolder(model, processor)


POSE_SIZE = (64, 48)  # (height, width): VitPose's 4:3 person crop, shrunk
# COCO's 17 keypoints, in its order (what VitPose answers).
COCO_KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)  # fmt: skip


def build_tiny_pose_estimator() -> ModelFolder:
    """A tiny VitPose (17 COCO keypoints) at 64x48 px: its keypoints move with the picture but are no pose."""
    from transformers import VitPoseBackboneConfig, VitPoseConfig, VitPoseForPoseEstimation
    from transformers.models.vitpose.image_processing_pil_vitpose import VitPoseImageProcessorPil

    backbone = VitPoseBackboneConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, mlp_ratio=1, image_size=POSE_SIZE, patch_size=(8, 8)
    )
    config = VitPoseConfig(backbone_config=backbone, id2label=dict(enumerate(COCO_KEYPOINTS)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_SEED + 2)
        model = VitPoseForPoseEstimation(config).eval()
    processor = VitPoseImageProcessorPil(size={"height": POSE_SIZE[0], "width": POSE_SIZE[1]})
    return ModelFolder(model, processor)
