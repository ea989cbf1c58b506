"""ControlNet preprocessors: a source picture turned into the control image a ControlNet of its kind
was trained on (white-on-black edge, line and scribble maps, a depth map, a normal map).

Edges, line art and sketches are OpenCV (no weights); depth is the catalog's depth estimator (a
transformers DPT or Depth Anything folder); normals are the depth map's gradients, as the original
ControlNet "normal" annotator derived them from MiDaS depth; a pose is the catalog's pose estimator
(transformers VitPose, top-down, with the whole picture as the person's box: one person) drawn as
an OpenPose skeleton, the 18-point body and colours pose ControlNets were trained on. "image"
(Leonardo's Text Image Input, Pattern and QR Code guidance) is the picture itself, which
QR-code-style ControlNets take raw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import torch
from PIL import Image

from sfumato.catalog import DepthEstimatorEntry, PoseEstimatorEntry

# Canny's hysteresis thresholds: the values ControlNet's canny model was trained with.
CANNY_LOW, CANNY_HIGH = 100, 200
# Line art: edges of a lightly blurred picture at lower thresholds (finer lines than canny).
LINEART_LOW, LINEART_HIGH = 50, 150
# Sketch: dark strokes (below this grey) become the white scribble lines a scribble ControlNet sees.
SKETCH_THRESHOLD = 128
# Normals: the z component against the depth gradients (larger flattens the map).
NORMAL_Z = 0.4

# Pose: keypoints scored below this are not drawn (OpenPose's annotator uses a similar cut).
POSE_MIN_SCORE = 0.3
POSE_LINE, POSE_DOT = 4, 4  # limb thickness and joint radius at 512 px, scaled with the picture

DepthMap = Callable[[Image.Image], Image.Image]
"""A picture -> its depth map (greyscale "L", same size, near is bright)."""
Keypoints = tuple[Sequence[tuple[float, float]], Sequence[float]]
"""17 COCO keypoints (x, y in pixels) and their scores."""
PoseMap = Callable[[Image.Image], Keypoints]


class Estimators(Protocol):
    """Where the preprocessors that need a model get it (the engine's `AuxiliaryModels`)."""

    def depth_estimator(self) -> DepthMap: ...

    def pose_estimator(self) -> PoseMap: ...


def _grey(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"))


def _rgb(single: np.ndarray) -> Image.Image:
    return Image.fromarray(np.repeat(single[..., None], 3, axis=2))


def canny(image: Image.Image) -> Image.Image:
    """White edges on black (`cv2.Canny`)."""
    return _rgb(cv2.Canny(_grey(image), CANNY_LOW, CANNY_HIGH))


def lineart(image: Image.Image) -> Image.Image:
    """Fine white lines on black: the edges of a lightly blurred picture."""
    blurred = cv2.GaussianBlur(_grey(image), (3, 3), 0)
    return _rgb(cv2.Canny(blurred, LINEART_LOW, LINEART_HIGH))


def sketch(image: Image.Image) -> Image.Image:
    """A drawing's dark strokes as thick white scribbles on black (a scribble ControlNet's input)."""
    strokes = np.where(_grey(image) < SKETCH_THRESHOLD, 255, 0).astype(np.uint8)
    return _rgb(cv2.dilate(strokes, np.ones((3, 3), np.uint8)))


def normal_map(depth: Image.Image) -> Image.Image:
    """Surface normals from a depth map (near bright): Sobel gradients (-dx, -dy, z), normalised,
    mapped from [-1, 1] to RGB."""
    values = np.asarray(depth.convert("L"), dtype=np.float32) / 255.0
    dx = cv2.Sobel(values, cv2.CV_32F, 1, 0, ksize=3)
    dy = cv2.Sobel(values, cv2.CV_32F, 0, 1, ksize=3)
    normals = np.stack([-dx, -dy, np.full_like(values, NORMAL_Z)], axis=2)
    normals /= np.linalg.norm(normals, axis=2, keepdims=True)
    return Image.fromarray(((normals + 1.0) * 127.5).clip(0, 255).astype(np.uint8))


# OpenPose's 18 body points from COCO's 17 (the neck, OpenPose's point 1, is the shoulders' middle).
_OPENPOSE_FROM_COCO = (0, None, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)
# OpenPose's limbs (pairs of its points) and its colour per limb and point, as its annotator draws them.
_LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
          (1, 0), (0, 14), (14, 16), (0, 15), (15, 17))  # fmt: skip
_COLOURS = ((255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
            (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
            (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85))  # fmt: skip


def openpose_skeleton(keypoints: Keypoints, width: int, height: int) -> Image.Image:
    """COCO keypoints drawn as an OpenPose body on black: limbs (dimmed) then joints, in OpenPose's colours;
    points scored under `POSE_MIN_SCORE` (and the limbs they end) are left out."""
    coco, scores = keypoints
    points: list[tuple[int, int] | None] = []
    for index in _OPENPOSE_FROM_COCO:
        pair = (5, 6) if index is None else (index,)
        if min(scores[i] for i in pair) < POSE_MIN_SCORE:
            points.append(None)
            continue
        x = sum(coco[i][0] for i in pair) / len(pair)
        y = sum(coco[i][1] for i in pair) / len(pair)
        points.append((round(x), round(y)))
    canvas = np.zeros((height, width, 3), np.uint8)
    scale = max(width, height) / 512
    line, dot = max(1, round(POSE_LINE * scale)), max(1, round(POSE_DOT * scale))
    for (start, end), colour in zip(_LIMBS, _COLOURS, strict=False):
        first, second = points[start], points[end]
        if first is not None and second is not None:
            cv2.line(canvas, first, second, tuple(int(c * 0.6) for c in colour), line)
    for point, colour in zip(points, _COLOURS, strict=True):
        if point is not None:
            cv2.circle(canvas, point, dot, colour, -1)
    return Image.fromarray(canvas)


def control_image(kind: str, source: Image.Image, width: int, height: int, estimators: Estimators) -> Image.Image:
    """`source` at the render's size, as a ControlNet of `kind` sees it; `estimators` give the depth
    and pose models (asked only for depth, normal and pose)."""
    picture = source.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    if kind == "canny":
        return canny(picture)
    if kind == "lineart":
        return lineart(picture)
    if kind == "sketch":
        return sketch(picture)
    if kind == "depth":
        return estimators.depth_estimator()(picture).convert("RGB")
    if kind == "normal":
        return normal_map(estimators.depth_estimator()(picture))
    if kind == "pose":
        return openpose_skeleton(estimators.pose_estimator()(picture), width, height)
    if kind == "image":
        return picture
    raise ValueError(f"no preprocessor for control kind {kind!r}")


class DepthEstimator:
    """A transformers depth model and its image processor: a picture -> its depth map (near bright)."""

    def __init__(self, folder: Path, device: str) -> None:
        from transformers import AutoImageProcessor, AutoModelForDepthEstimation

        self.processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
        self.model = AutoModelForDepthEstimation.from_pretrained(folder, local_files_only=True).to(device).eval()
        self.device = device

    def __call__(self, image: Image.Image) -> Image.Image:
        inputs = self.processor(images=image.convert("RGB"), return_tensors="pt").to(self.device)
        with torch.inference_mode():
            predicted = self.model(**inputs).predicted_depth
        depth = torch.nn.functional.interpolate(
            predicted[:, None].float(), size=(image.height, image.width), mode="bicubic", align_corners=False
        )[0, 0]
        low, high = depth.min(), depth.max()
        scaled = (depth - low) / (high - low) if high > low else torch.zeros_like(depth)
        return Image.fromarray((scaled * 255).round().clamp(0, 255).byte().cpu().numpy())


def load_depth_estimator(entry: DepthEstimatorEntry, models_dir: Path, device: str) -> DepthEstimator:
    """The row's model folder: the built-in's own, or the folder its weights file lies in."""
    location = entry.weights.location(models_dir)
    return DepthEstimator(location if entry.weights.builtin else location.parent, device)


class PoseEstimator:
    """A transformers VitPose and its image processor: a picture -> its 17 COCO keypoints, the whole
    picture taken as the person's box (top-down pose models need one; one person per picture)."""

    def __init__(self, folder: Path, device: str) -> None:
        from transformers import AutoImageProcessor, VitPoseForPoseEstimation

        self.processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
        model: Any = VitPoseForPoseEstimation.from_pretrained(folder, local_files_only=True)
        self.model = model.to(device).eval()
        self.device = device

    def __call__(self, image: Image.Image) -> Keypoints:
        boxes = [[[0.0, 0.0, float(image.width), float(image.height)]]]  # COCO's x, y, width, height
        inputs = self.processor(images=image.convert("RGB"), boxes=boxes, return_tensors="pt").to(self.device)
        with torch.inference_mode():
            outputs = self.model(**inputs)
        person = self.processor.post_process_pose_estimation(outputs, boxes=boxes)[0][0]
        return person["keypoints"].tolist(), person["scores"].tolist()


def load_pose_estimator(entry: PoseEstimatorEntry, models_dir: Path, device: str) -> PoseEstimator:
    location = entry.weights.location(models_dir)
    return PoseEstimator(location if entry.weights.builtin else location.parent, device)
