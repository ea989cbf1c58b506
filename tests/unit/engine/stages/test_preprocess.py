"""ControlNet preprocessors: canny edges where the picture has edges, the built-in depth model's map
at the picture's size, normals that point against the depth slope, sketches and line art."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sfumato.catalog import ModelCatalog
from sfumato.engine.auxiliary import AuxiliaryModels
from sfumato.engine.stages.preprocess import (
    DepthMap,
    canny,
    control_image,
    lineart,
    normal_map,
    openpose_skeleton,
    sketch,
)


def square(size: int = 32) -> Image.Image:
    """A white square on black: edges only along its border."""
    pixels = np.zeros((size, size, 3), np.uint8)
    pixels[8:24, 8:24] = 255
    return Image.fromarray(pixels)


@pytest.fixture(scope="module")
def estimators(tmp_path_factory: pytest.TempPathFactory) -> AuxiliaryModels:
    """The shipped catalog's estimators in use: the built-in tiny DPT and VitPose, built on first use."""
    return AuxiliaryModels(ModelCatalog.load(), Path(tmp_path_factory.mktemp("models")), lambda: "cpu", 1)


@pytest.fixture(scope="module")
def depth(estimators: AuxiliaryModels) -> DepthMap:
    return estimators.depth_estimator()


def test_canny_finds_the_border_and_nothing_else() -> None:
    edges = np.asarray(canny(square()))
    assert edges.shape == (32, 32, 3) and set(np.unique(edges)) == {0, 255}
    assert edges[7:25, 7:25].any() and not edges[:5].any() and not edges[12:20, 12:20].any()


def test_lineart_and_sketch_are_white_lines_on_black() -> None:
    lines = np.asarray(lineart(square()))[..., 0]
    assert lines[7:25, 7:25].any() and not lines[12:20, 12:20].any()
    drawing = Image.fromarray(np.where(np.asarray(square()) > 0, 0, 255).astype(np.uint8))  # black square on white
    strokes = np.asarray(sketch(drawing))[..., 0]
    assert strokes[16, 16] == 255 and strokes[0, 0] == 0


def test_normals_point_against_the_slope() -> None:
    ramp = Image.fromarray(np.tile(np.linspace(0, 255, 32), (32, 1)).astype(np.uint8))  # nearer to the right
    normals = np.asarray(normal_map(ramp), dtype=int)
    assert normals.shape == (32, 32, 3)
    middle = normals[16, 16]
    assert middle[0] < 128 and abs(middle[1] - 128) <= 1 and middle[2] > 128  # x leans left, y flat, z out
    flat = np.asarray(normal_map(Image.new("L", (8, 8), 90)), dtype=int)
    assert np.all(np.abs(flat - [128, 128, 255]) <= 1)  # a flat surface faces the viewer


def test_depth_map_is_at_the_pictures_size_and_follows_it(depth: DepthMap) -> None:
    one, other = depth(square(40)), depth(Image.new("RGB", (40, 40), (30, 90, 200)))
    assert one.mode == "L" and one.size == (40, 40)
    assert np.asarray(one).max() == 255 and np.asarray(one).min() == 0  # scaled to the full range
    assert not np.array_equal(np.asarray(one), np.asarray(other))


def test_a_pose_is_drawn_as_an_openpose_skeleton() -> None:
    """COCO keypoints of a standing figure: OpenPose's neck between the shoulders, its colours, and
    nothing for points scored too low."""
    coco = [(32, 8), (30, 6), (34, 6), (28, 7), (36, 7), (24, 16), (40, 16), (22, 26), (42, 26), (20, 36),
            (44, 36), (28, 36), (36, 36), (28, 48), (36, 48), (28, 60), (36, 60)]  # fmt: skip
    scores = [0.9] * 17
    drawn = np.asarray(openpose_skeleton((coco, scores), 64, 64))
    assert tuple(drawn[16, 32]) == (255, 85, 0)  # the neck's joint, OpenPose's second colour
    assert tuple(drawn[8, 32]) == (255, 0, 0)  # the nose
    assert drawn[0:2].max() == 0 and drawn[:, 0:10].max() == 0  # black around the figure
    scores[9] = 0.0  # the left wrist unseen: its joint and forearm are not drawn
    assert np.asarray(openpose_skeleton((coco, scores), 64, 64))[36, 20].max() == 0 and drawn[36, 20].max() > 0


def test_control_image_is_at_the_renders_size(estimators: AuxiliaryModels) -> None:
    for kind in ("canny", "depth", "normal", "lineart", "sketch", "pose", "image"):
        made = control_image(kind, square(48), 32, 16, estimators)
        assert made.mode == "RGB" and made.size == (32, 16), kind
    assert np.array_equal(np.asarray(control_image("image", square(), 32, 32, estimators)), np.asarray(square()))
