"""Sfumato Tiny, the built-in model: byte-identical builds, built once and atomically (threads and
processes racing, stale and half-written builds), and the global RNG left alone."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from sfumato.engine.weights.tiny import (
    MARKER_NAME,
    TINY_BUILD_VERSION,
    _build_into,
    build_tiny_pipeline,
    ensure_built,
    ensure_tiny_model,
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_tiny_model(tmp_path_factory.mktemp("models") / "sfumato-tiny")


def test_two_builds_are_byte_identical(tiny_model: Path, tmp_path: Path) -> None:
    other = ensure_tiny_model(tmp_path / "again")
    files = sorted(p.relative_to(tiny_model) for p in tiny_model.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
    weights = [f for f in files if f.suffix == ".safetensors"]
    assert len(weights) == 3  # unet, vae, text encoder
    for name in files:
        assert (tiny_model / name).read_bytes() == (other / name).read_bytes(), name


def test_ensure_is_idempotent(tiny_model: Path) -> None:
    marker = tiny_model / MARKER_NAME
    before = marker.stat().st_mtime_ns
    assert ensure_tiny_model(tiny_model) == tiny_model
    assert marker.stat().st_mtime_ns == before
    assert json.loads(marker.read_text())["version"] == TINY_BUILD_VERSION


def test_ensure_replaces_an_outdated_build(tmp_path: Path) -> None:
    target = ensure_tiny_model(tmp_path / "tiny")
    (target / MARKER_NAME).write_text(json.dumps({"version": "stale"}))
    (target / "leftover.txt").write_text("from an old recipe")
    ensure_tiny_model(target)
    assert json.loads((target / MARKER_NAME).read_text())["version"] == TINY_BUILD_VERSION
    assert not (target / "leftover.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["tiny"]  # no staging or stale folders left


def test_ensure_completes_a_half_written_build(tmp_path: Path) -> None:
    target = tmp_path / "tiny"
    target.mkdir()
    (target / "model_index.json").write_text("{}")  # as if a build died before its marker
    ensure_tiny_model(target)
    assert (target / MARKER_NAME).exists() and (target / "unet").is_dir()


def test_racing_threads_share_one_build(tmp_path: Path) -> None:
    target = tmp_path / "tiny"
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: ensure_tiny_model(target), range(4)))
    assert results == [target] * 4
    assert [p.name for p in tmp_path.iterdir()] == ["tiny"]


def test_losing_a_race_to_another_process_is_fine(tmp_path: Path) -> None:
    target = tmp_path / "tiny"
    rival_done = False

    def build_while_a_rival_finishes_first() -> object:
        nonlocal rival_done
        if not rival_done:
            rival_done = True  # the other process renames its copy into place first
            _build_into(target, build_tiny_pipeline, "Sfumato Tiny")
        return build_tiny_pipeline()

    assert ensure_built(target, build_while_a_rival_finishes_first, "Sfumato Tiny") == target
    assert rival_done and (target / MARKER_NAME).exists()
    assert [p.name for p in tmp_path.iterdir()] == ["tiny"]


def test_building_leaves_the_global_rng_alone() -> None:
    state = torch.random.get_rng_state()
    build_tiny_pipeline()
    assert torch.equal(state, torch.random.get_rng_state())
